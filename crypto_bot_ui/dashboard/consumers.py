"""The dashboard socket: snapshot first, then live events; commands go to the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.db import DatabaseError
from redis.exceptions import RedisError

from bot_api.backoff import Backoff
from bot_api.command_bus import CommandBus
from bot_api.commands import (
    AckFrame,
    BotCommand,
    ClosePositionFrame,
    CommandError,
    CommandName,
    RequestStatusFrame,
    ResumeFrame,
    StartBotFrame,
    StopBotFrame,
    parse_browser_frame,
)
from bot_api.errors import ContractError, TransportError
from bot_api.events import (
    BotControlEvent,
    CommandResultData,
    Envelope,
    StatusEvent,
    encode_event,
    error_event,
    parse_event,
)
from bot_api.frames import MAX_SEND_BYTES, join_frames, too_big
from bot_api.heartbeat import is_alive
from bot_api.models import utcnow
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import bot_keys, redis_client
from crypto_bot_ui.core.rate_limit import allow_command
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.dashboard.guard import Watched, get_guard
from crypto_bot_ui.dashboard.queues import LAGGED, Frame, Subscription, conflate
from crypto_bot_ui.dashboard.relay import Relay, get_relay
from crypto_bot_ui.trades.services import record_command, record_command_result, record_refusal

logger = logging.getLogger(__name__)

CommandFrame = StartBotFrame | StopBotFrame | ClosePositionFrame | RequestStatusFrame
CONTROL = frozenset({CommandName.START_BOT, CommandName.STOP_BOT, CommandName.CLOSE_POSITION})
"""Commands that change something: operators only (`control_bot`), each one logged (who, when,
from where, the outcome), refusals included."""

CLOSE_UNAUTHENTICATED = 4001
CLOSE_LAGGED = 4008
"""The client fell behind (its queue was dropped, or a frame could not be sent): reconnect and
resume at once."""
CLOSE_INTERNAL_ERROR = 1011
READY_TIMEOUT = 5.0
CONFLATE_ABOVE = 50
"""Frames queued for one socket beyond which its price updates are conflated (it is behind)."""
RESUME_INTERVAL = 1.0
"""Seconds between two resumes on one socket (a client reconnects; it never loops on resume)."""


@dataclass
class Cursor:
    """What a socket has been sent: the last bot seq and the bot run its snapshot came from."""

    seq: int | None = None
    started_at: datetime | None = None

    def admits(self, frame: Frame) -> bool:
        """Whether `frame` carries something this socket has not seen."""
        if frame.seq is None:
            return True  # made by the web process (presence, errors): never a duplicate
        if frame.is_status:
            # A snapshot of another bot run wins even with a lower seq (its numbering restarted
            # with a wiped Redis); within one run only a newer snapshot is worth sending.
            return self.seq is None or frame.started_at != self.started_at or frame.seq > self.seq
        # Before any snapshot the first bot frame must be a status; after it, only newer events.
        return self.seq is not None and frame.seq > self.seq

    def advance(self, frame: Frame) -> None:
        """Record that `frame` was sent."""
        if frame.seq is not None:
            self.seq = frame.seq
        if frame.is_status:
            self.started_at = frame.started_at


def _unrecovered(resync: list[Frame]) -> list[Frame]:
    """A resync whose snapshot is marked `recovered: false` (a resume that could not replay)."""
    if not resync:
        return []
    event = parse_event(resync[0].raw)
    if not isinstance(event, StatusEvent):
        return []
    marked = event.model_copy(update={"data": event.data.model_copy(update={"recovered": False})})
    return [Frame.of(marked, encode_event(marked)), *resync[1:]]


class DashboardConsumer(AsyncWebsocketConsumer):
    """Relays one bot's events to a logged-in browser and its commands back to the bot."""

    # Events come from the relay, not the channel layer: a layer receive per socket would tie
    # every socket's life to one more Redis connection (a blip would kill them all).
    channel_layer_alias = "dashboard-uses-the-relay"

    relay: Relay
    sub: Subscription | None = None
    watched: Watched | None = None
    pump: asyncio.Task[None] | None = None
    acked: int = 0
    """The last seq the client acknowledged (flow control)."""
    sent: int = 0
    """The last bot seq sent on this socket: an ack can only be for what was sent."""
    last_resume: float = -RESUME_INTERVAL
    """When this socket last resumed (monotonic): a replay reads up to thousands of entries."""
    send_failed: bool = False
    """A send failed: the socket is being closed and sends no more."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; however it ends, stop the pump and leave the relay."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def connect(self) -> None:
        """Refuse anonymous users before accepting; otherwise start the event pump."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.relay = get_relay()
        self.sub = self.relay.subscribe(settings.WS_SEND_QUEUE)
        await self.accept()
        session = self.scope.get("session")
        self.watched = Watched(user.pk, getattr(session, "session_key", None), self._close_for_guard,
                               auth_hash=session.get(HASH_SESSION_KEY) if session is not None else None)
        get_guard().watch(self.watched)
        self._start_pump(Cursor(), snapshot_first=True)

    async def disconnect(self, code: int) -> None:
        """Stop the pump and leave the relay."""
        await self._release()

    async def _close_for_guard(self, code: int) -> None:
        """The user lost access (deactivated, session ended): close at once."""
        await self.close(code=code)

    async def _release(self) -> None:
        if self.watched is not None:
            get_guard().forget(self.watched)
            self.watched = None
        await self._stop_pump()
        if self.sub is not None:
            self.relay.unsubscribe(self.sub)
            self.sub = None

    def _start_pump(self, cursor: Cursor, *, snapshot_first: bool) -> None:
        if self.sub is not None:
            self.pump = asyncio.create_task(self._pump(self.sub, cursor, snapshot_first=snapshot_first))

    async def _stop_pump(self) -> None:
        await cancel_and_wait(self.pump)
        self.pump = None

    async def _pump(self, sub: Subscription, cursor: Cursor, *, snapshot_first: bool) -> None:
        """Send the snapshot (on connect), then every queued frame newer than the cursor, in order."""
        try:
            if snapshot_first:
                await self._send_new(cursor, *conflate(await self._initial_state()), self.relay.presence_frame())
            self.acked = cursor.seq or 0
            while True:
                # Whatever queued up while we were busy goes out together.
                batch = [await sub.queue.get()]
                while not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
                if LAGGED in batch or self._unacked(cursor) > settings.WS_MAX_UNACKED:
                    # Daphne buffers without backpressure: a client that stopped reading is only
                    # visible through its acks. It reconnects and resumes (or gets a snapshot).
                    logger.info("closing a lagging socket of %s", self.scope["user"])
                    await self.close(code=CLOSE_LAGGED)
                    return
                frames = [f for f in batch if isinstance(f, Frame)]
                # A few queued frames go out as one array frame, all of them; only a socket this far
                # behind loses intermediate prices (the newest per symbol stays, trades never go).
                await self._send_new(cursor, *(conflate(frames) if len(frames) > CONFLATE_ABOVE else frames))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never leave a socket open that silently receives nothing: the client reconnects.
            logger.exception("socket pump failed; closing the socket")
            await self.close(code=CLOSE_INTERNAL_ERROR)

    def _unacked(self, cursor: Cursor) -> int:
        """How many events (by seq) were sent beyond what the client acknowledged."""
        return 0 if cursor.seq is None else cursor.seq - self.acked

    async def _send_new(self, cursor: Cursor, *frames: Frame | None) -> None:
        """Send the frames the cursor admits, in order: several as array frames (protocol: batches)."""
        raws = []
        for frame in frames:
            if frame is not None and cursor.admits(frame):
                first = cursor.seq is None
                cursor.advance(frame)
                self.sent = cursor.seq or 0
                if first and cursor.seq is not None:
                    # The first bot frame a socket gets is its baseline, not a backlog to ack:
                    # a bot that restarted keeps its numbering, far above 0.
                    self.acked = max(self.acked, cursor.seq)
                if too_big(frame.raw):
                    # It would never pass the server's limit: closing for a resume would only meet
                    # it again. Skipped and said loudly (a status this big means a bug elsewhere).
                    logger.error("an event of seq %s is over the %d-byte frame limit; not sent", frame.seq,
                                 MAX_SEND_BYTES)
                    continue
                raws.append(frame.raw)
        for text in join_frames(raws):
            await self.send(text_data=text)

    async def _resume(self, frame: ResumeFrame) -> None:
        """Continue this socket from the client's `last_seq`: replay, or a fresh status if gone.

        The live pump stops first, so everything after the answer is one ordered stream: the
        missed events (recovered: true) or a status marked recovered: false, then live events.
        """
        await self._stop_pump()
        try:
            replay = await self.relay.replay_since(frame.last_seq)
            resync = [] if replay is not None else await self.relay.resync()
        except (RedisError, OSError) as exc:
            logger.warning("resume from %d failed: %s", frame.last_seq, exc)
            await self._answer(frame.id, CommandName.RESUME, CommandError.UNAVAILABLE)
            self._start_pump(Cursor(), snapshot_first=True)  # back to a fresh start
            return
        result = CommandResultData(id=frame.id, command="resume", ok=True, recovered=replay is not None)
        await self._send_event(BotControlEvent(bot=bot_keys().bot_id, data=result))
        if replay is not None:
            # The run of the events being resumed: without it, any later status would pass as
            # "another run", even an older snapshot of this one (after Redis lost data, say).
            cursor = Cursor(seq=frame.last_seq, started_at=self.relay.run)
            await self._send_new(cursor, *replay)
        else:
            cursor = Cursor()
            await self._send_new(cursor, *_unrecovered(resync))
        await self._send_new(cursor, self.relay.presence_frame())
        self._start_pump(cursor, snapshot_first=False)

    async def _initial_state(self) -> list[Frame]:
        """The bot's snapshot and the events after it (none if it never published), retried
        while Redis is away.

        Frames keep queueing meanwhile (bounded), so nothing after these is lost.
        """
        backoff = Backoff(initial=0.5, maximum=5.0)
        told = False
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel (a resume
                # stops this pump exactly while the relay is becoming ready).
                async with asyncio.timeout(READY_TIMEOUT):
                    await self.relay.ready.wait()
                return await self.relay.resync()
            except (TimeoutError, RedisError, OSError) as exc:
                if not told:
                    logger.warning("no snapshot for a new socket yet: %s", exc)
                    await self._send_event(error_event("unavailable", "the bot's data is unreachable; retrying"))
                    told = True
            await asyncio.sleep(backoff.next_delay())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Validate a browser frame and forward its command; answer every defect with `error`."""
        if text_data is None:
            await self._send_event(error_event("invalid_frame", "binary frames are not accepted"))
            return
        try:
            frame = parse_browser_frame(text_data)
        except ContractError as exc:
            await self._send_event(error_event(exc.code, exc.message))
            return
        except Exception:
            # Whatever a frame does to the parser, the socket survives and says so.
            logger.exception("unexpected failure parsing a browser frame")
            await self._send_event(error_event("invalid_frame", "frame could not be parsed"))
            return
        if isinstance(frame, AckFrame):
            if frame.seq > self.sent:
                # An ack for events never sent would lift the cap on what a socket that stopped
                # reading may be owed (WS_MAX_UNACKED): refused, and the old ack stands.
                await self._send_event(error_event(
                    "invalid_ack", f"ack of seq {frame.seq}, but the last event sent was {self.sent}"))
                return
            self.acked = max(self.acked, frame.seq)
            return
        if isinstance(frame, ResumeFrame):
            now = asyncio.get_running_loop().time()
            if now - self.last_resume < RESUME_INTERVAL:
                await self._send_event(error_event("rate_limited", "resume at most once a second"))
                return
            self.last_resume = now
            await self._resume(frame)
            return
        await self._forward(frame)

    async def _forward(self, frame: CommandFrame) -> None:
        keys = bot_keys()
        redis = redis_client()
        command = CommandName(frame.command)
        user = self.scope["user"]
        cmd = BotCommand.create(
            command_id=frame.id, command=command, bot=keys.bot_id, issued_by=user.get_username(),
            symbol=frame.symbol if isinstance(frame, ClosePositionFrame) else None,
            close_positions=isinstance(frame, StopBotFrame) and frame.close_positions,
        )
        try:
            # The rate first: a flood of frames must cost neither the bot nor the database. Each
            # frame counts once, whatever id it reuses.
            if not await allow_command(redis, keys.command_rate_key(str(user.pk)), token=uuid.uuid4().hex,
                                       limit=settings.COMMAND_RATE_LIMIT, window=settings.COMMAND_RATE_WINDOW):
                logger.info("%s is over the command rate limit", user.get_username())
                await self._answer(frame.id, command, CommandError.RATE_LIMITED, audit=False)
                return
            # Checked here, per command, on the server: the page's disabled buttons are a courtesy.
            # Refusals come before the id is taken: a refused command never uses up the id of one
            # that may follow (a viewer replaying an operator's id first cannot block it).
            if command in CONTROL and not await database_sync_to_async(can_control)(user.pk):
                logger.warning("%s (a viewer) tried %s; refused", user.get_username(), command.value)
                await self._refuse(cmd, CommandError.FORBIDDEN)
                return
            if not await is_alive(redis, keys.heartbeat_key):
                await self._refuse(cmd, CommandError.BOT_OFFLINE)
                return
            if not await self._audit(cmd):
                # An id already in the log (someone else's, seen in a broadcast answer): never
                # re-run it, never touch that row.
                await self._answer(frame.id, command, CommandError.INVALID, audit=False,
                                   detail="this command id was already used")
                return
            await CommandBus(redis, keys).send(cmd)
            logger.info("%s sent %s (%s)", user.get_username(), command.value, frame.id)
        except (TransportError, RedisError, OSError) as exc:
            logger.warning("command %s could not reach Redis: %s", frame.id, exc)
            await self._answer(frame.id, command, CommandError.UNAVAILABLE)
        except DatabaseError as exc:  # the permission could not be read: refuse, never guess
            logger.warning("command %s: permissions unreadable: %s", frame.id, exc)
            await self._answer(frame.id, command, CommandError.UNAVAILABLE)

    async def _audit(self, cmd: BotCommand) -> bool:
        """Log a command that changes something before it leaves; False if its id is already logged."""
        if cmd.command not in CONTROL:
            return True
        user = self.scope["user"]
        client = self.scope.get("client") or (None, None)
        try:
            return bool(await database_sync_to_async(record_command)(
                bot_id=cmd.bot, command_id=cmd.id, command=cmd.command.value, user_id=user.pk,
                username=user.get_username(), address=client[0], issued_at=cmd.issued_at,
                symbol=cmd.symbol or "", close_positions=cmd.close_positions,
            ))
        except (DatabaseError, ValueError) as exc:
            # The command still goes out: a database outage must not keep an operator from stopping.
            logger.error("command %s not written to the audit log: %s", cmd.id, exc)
            return True

    async def _refuse(self, cmd: BotCommand, error: CommandError) -> None:
        """Answer a command the web process will not send; log the refusal, leaving its id free."""
        await self._answer(cmd.id, cmd.command, error, audit=False)
        if cmd.command not in CONTROL:
            return
        user = self.scope["user"]
        client = self.scope.get("client") or (None, None)
        try:
            await database_sync_to_async(record_refusal)(
                bot_id=cmd.bot, command_id=cmd.id, command=cmd.command.value, user_id=user.pk,
                username=user.get_username(), address=client[0], issued_at=cmd.issued_at, error=error.value,
                symbol=cmd.symbol or "", close_positions=cmd.close_positions,
            )
        except (DatabaseError, ValueError) as exc:
            logger.error("refusal of command %s not written to the audit log: %s", cmd.id, exc)

    async def _answer(
        self, command_id: str, command: CommandName, error: CommandError, *, audit: bool = True,
        detail: str | None = None,
    ) -> None:
        data = CommandResultData(id=command_id, command=command.value, ok=False, error=error.value, detail=detail)
        await self._send_event(BotControlEvent(bot=bot_keys().bot_id, data=data))
        if audit and command in CONTROL:
            try:
                await database_sync_to_async(record_command_result)(
                    bot_id=bot_keys().bot_id, command_id=command_id, command=command.value, ok=False,
                    error=error.value, detail="answered by the web process", answered_at=utcnow(),
                )
            except DatabaseError as exc:
                logger.error("outcome of command %s not written to the audit log: %s", command_id, exc)

    async def _send_event(self, event: Envelope) -> None:
        await self.send(text_data=encode_event(event))

    async def send(self, *args: Any, **kwargs: Any) -> None:
        """Send a frame; if one cannot go, close the socket (once) so the client resumes past the hole."""
        if self.send_failed:
            return  # closing: later frames would fail the same way
        try:
            await super().send(*args, **kwargs)
        except RuntimeError as exc:
            # The socket is closing (autobahn's Disconnected), or Daphne refused the frame (over
            # --websocket-max-message-size); both are RuntimeErrors. Going on would leave a silent
            # hole in this client's stream: a resume fills it.
            self.send_failed = True
            logger.warning("a frame could not be sent (%s: %s); closing the socket", type(exc).__name__, exc)
            with contextlib.suppress(RuntimeError):
                await self.close(code=CLOSE_LAGGED)
