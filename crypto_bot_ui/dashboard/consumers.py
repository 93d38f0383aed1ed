"""The dashboard socket: snapshot first, then live events; commands go to the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY

from bot_api.backoff import Backoff
from bot_api.commands import Ack, CommandError, Resume, parse_browser_frame
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
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import bot_keys
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.dashboard.control import NO_CHANNEL_LAYER
from crypto_bot_ui.dashboard.flow import InboundLimit, SocketCounts, Window
from crypto_bot_ui.dashboard.guard import Watched, get_guard
from crypto_bot_ui.dashboard.queues import LAGGED, Frame, Subscription, conflate
from crypto_bot_ui.dashboard.relay import Relay, get_relay
from crypto_bot_ui.dashboard.services import refusal, send_bot_command

logger = logging.getLogger(__name__)


CLOSE_UNAUTHENTICATED = 4001
CLOSE_LAGGED = 4008
"""The client fell behind (its queue was dropped, it acknowledged nothing while its window was
full, or a frame could not be sent): reconnect and resume at once."""
CLOSE_TOO_MANY = 4029
"""This user has WS_MAX_SOCKETS_PER_USER dashboards open in this web process already."""
CLOSE_INTERNAL_ERROR = 1011
SOCKETS = SocketCounts()
"""Open sockets per user in this process (consumers all run on its one event loop)."""
READY_TIMEOUT = 5.0
CONFLATE_ABOVE = 50
"""Frames queued for one socket beyond which its price updates are conflated (it is behind)."""
RESUME_INTERVAL = 1.0
"""Seconds between two resumes on one socket (a client reconnects; it never loops on resume)."""
INBOUND_RATE = 20.0
INBOUND_BURST = 60
"""Frames per second (and at once) one socket may send, whatever they are: a page sends an ack a
second, a resume per connection and the commands a person clicks."""


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

    # No channel layer of its own (Channels gives a socket one unless its alias names none):
    # events come from the relay, and control messages from the process's one listener
    # (control.py). A layer receive per socket would end every socket on a Redis blip.
    channel_layer_alias = NO_CHANNEL_LAYER

    relay: Relay
    sub: Subscription | None = None
    watched: Watched | None = None
    pump: asyncio.Task[None] | None = None
    window: Window
    """Bot events sent and not yet acknowledged (flow control, one per socket)."""
    inbound: InboundLimit
    resumed: bool = False
    """A socket resumes once, right after it opens (a client that needs another reconnects)."""
    last_resume: float = -RESUME_INTERVAL
    """When this socket last resumed (monotonic): a replay reads up to thousands of entries."""
    counted_user: int | None = None
    """The user whose socket count this socket holds (given back on release)."""
    send_failed: bool = False
    """A send failed: the socket is being closed and sends no more."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = Window(max_events=settings.WS_MAX_UNACKED, max_bytes=settings.WS_MAX_UNACKED_BYTES)
        self.inbound = InboundLimit(rate=INBOUND_RATE, burst=INBOUND_BURST)

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
        if not SOCKETS.take(user.pk, settings.WS_MAX_SOCKETS_PER_USER):
            # Accepted, then closed with a reason the page can show (a refused handshake cannot say why).
            logger.warning("%s has %d dashboards open; one more refused", user, settings.WS_MAX_SOCKETS_PER_USER)
            await self.accept()
            await self._send_event(error_event(
                "too_many_sockets", f"at most {settings.WS_MAX_SOCKETS_PER_USER} dashboards per account at once"))
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.counted_user = user.pk
        self.relay = get_relay()
        self.sub = self.relay.subscribe(settings.WS_SEND_QUEUE)
        await self.accept()
        session = self.scope.get("session")
        self.watched = Watched(user.pk, getattr(session, "session_key", None), self._close_for_guard,
                               auth_hash=session.get(HASH_SESSION_KEY) if session is not None else None,
                               can_control=await database_sync_to_async(can_control)(user.pk))
        get_guard().watch(self.watched)
        self._start_pump(Cursor(), snapshot_first=True)

    async def disconnect(self, code: int) -> None:
        """Stop the pump and leave the relay."""
        await self._release()

    async def _close_for_guard(self, code: int) -> None:
        """The user's access changed (deactivated, session ended, role changed): close at once."""
        await self.close(code=code)

    async def _release(self) -> None:
        if self.counted_user is not None:
            SOCKETS.give_back(self.counted_user)
            self.counted_user = None
        if self.watched is not None:
            get_guard().forget(self.watched)
            self.watched = None
        await self._stop_pump()
        if self.sub is not None:
            self.relay.unsubscribe(self.sub)
            self.sub = None

    def _start_pump(self, cursor: Cursor, *, snapshot_first: bool, backlog: list[Frame] | None = None) -> None:
        if self.sub is not None:
            self.pump = asyncio.create_task(
                self._pump(self.sub, cursor, snapshot_first=snapshot_first, backlog=backlog or []))

    async def _stop_pump(self) -> None:
        await cancel_and_wait(self.pump)
        self.pump = None

    async def _pump(self, sub: Subscription, cursor: Cursor, *, snapshot_first: bool, backlog: list[Frame]) -> None:
        """Send the snapshot (on connect) or the replay (on resume), then every queued frame newer
        than the cursor, in order, all through the socket's window."""
        try:
            if snapshot_first:
                await self._send_new(cursor, *conflate(await self._initial_state()), self.relay.presence_frame())
            if not await self._send_paced(cursor, backlog):
                return
            del backlog[:]  # sent: not kept for the socket's lifetime
            while True:
                # Whatever queued up while we were busy goes out together.
                batch = [await sub.queue.get()]
                while not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
                if LAGGED in batch:
                    await self._cut_off("its queue overflowed")
                    return
                frames = [f for f in batch if isinstance(f, Frame)]
                # A few queued frames go out as one array frame, all of them; only a socket this far
                # behind loses intermediate prices (the newest per symbol stays, trades never go).
                if not await self._send_paced(cursor, conflate(frames) if len(frames) > CONFLATE_ABOVE else frames):
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never leave a socket open that silently receives nothing: the client reconnects.
            logger.exception("socket pump failed; closing the socket")
            await self.close(code=CLOSE_INTERNAL_ERROR)

    async def _send_paced(self, cursor: Cursor, frames: list[Frame]) -> bool:
        """Send `frames` as the window allows, waiting for acks when it is full; False (and the
        socket closing) when the client acknowledged nothing for WS_ACK_WAIT seconds."""
        start = 0
        while start < len(frames):
            events, nbytes = self.window.room()
            if not events:
                if not await self.window.wait_for_ack(settings.WS_ACK_WAIT):
                    await self._cut_off(f"no ack for {settings.WS_ACK_WAIT} s with its window full")
                    return False
                continue
            end = start + 1  # at least one frame, then as many as fit
            nbytes -= len(frames[start].raw)
            while end < len(frames) and end - start < events and nbytes >= len(frames[end].raw):
                nbytes -= len(frames[end].raw)
                end += 1
            await self._send_new(cursor, *frames[start:end])
            start = end
        return True

    async def _cut_off(self, why: str) -> None:
        # Daphne buffers without backpressure: a client that stopped reading is only visible
        # through its acks. It reconnects and resumes (or gets a snapshot).
        window = self.window
        logger.info("closing a lagging socket of %s: %s (sent up to %d, acked %d; %d events, %d bytes unacked)",
                    self.scope["user"], why, window.top, window.acked, window.unacked_events, window.unacked_bytes)
        await self.close(code=CLOSE_LAGGED)

    async def _send_new(self, cursor: Cursor, *frames: Frame | None) -> None:
        """Send the frames the cursor admits, in order: several as array frames (protocol: batches)."""
        raws = []
        events = nbytes = 0
        for frame in frames:
            if frame is not None and cursor.admits(frame):
                cursor.advance(frame)
                if frame.seq is not None:
                    events += 1
                    nbytes += len(frame.raw)
                if too_big(frame.raw):
                    # It would never pass the server's limit: closing for a resume would only meet
                    # it again. Skipped and said loudly (a status this big means a bug elsewhere).
                    logger.error("an event of seq %s is over the %d-byte frame limit; not sent", frame.seq,
                                 MAX_SEND_BYTES)
                    continue
                raws.append(frame.raw)
        self.window.sent(seq=cursor.seq or 0, events=events, nbytes=nbytes)
        for text in join_frames(raws):
            await self.send(text_data=text)

    async def _resume(self, frame: Resume) -> None:
        """Continue this socket from the client's `last_seq`: replay, or a fresh status if gone.

        The live pump stops first, so everything after the answer is one ordered stream: the
        missed events (recovered: true) or a status marked recovered: false, then live events.
        """
        await self._stop_pump()
        try:
            replay = await self.relay.replay_since(frame.last_seq)
            resync = [] if replay is not None else await self.relay.resync()
        except TransportError as exc:
            logger.warning("resume from %d failed: %s", frame.last_seq, exc)
            await self._answer(refusal(frame, CommandError.UNAVAILABLE, command_id=frame.id))
            self._start_pump(Cursor(), snapshot_first=True)  # back to a fresh start
            return
        # id = ref: a resume is never audited, and a page loaded before ref existed matches by id.
        await self._answer(CommandResultData(id=frame.id, ref=frame.id, command=frame.command, ok=True,
                                             recovered=replay is not None))
        if replay is not None:
            # The run of the events being resumed: without it, any later status would pass as
            # "another run", even an older snapshot of this one (after Redis lost data, say).
            cursor = Cursor(seq=frame.last_seq, started_at=self.relay.run)
        else:
            cursor, replay = Cursor(), _unrecovered(resync)
        presence = self.relay.presence_frame()
        backlog = [*replay, *([presence] if presence is not None else [])]
        self.window.restart()
        # The replay goes through the pump and the window like live frames: paced by the acks.
        self._start_pump(cursor, snapshot_first=False, backlog=backlog)

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
            except (TimeoutError, TransportError) as exc:
                if not told:
                    logger.warning("no snapshot for a new socket yet: %s", exc)
                    await self._send_event(error_event("unavailable", "the bot's data is unreachable; retrying"))
                    told = True
            await asyncio.sleep(backoff.next_delay())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Validate a browser frame and forward its command; answer every defect with `error`."""
        now = asyncio.get_running_loop().time()
        if not self.inbound.allow(now):
            # Dropped unread: a flood costs neither parsing nor answers (one notice a second).
            if self.inbound.should_tell(now):
                await self._send_event(error_event("rate_limited", "too many frames: some were dropped"))
            return
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
        if isinstance(frame, Ack):
            if not self.window.ack(frame.seq):
                # An ack for events never sent would open the window of a socket that stopped
                # reading: refused, and the old ack stands.
                await self._send_event(error_event(
                    "invalid_ack", f"ack of seq {frame.seq}, but the last event sent was {self.window.top}"))
            return
        if isinstance(frame, Resume):
            if now - self.last_resume < RESUME_INTERVAL:
                await self._send_event(error_event("rate_limited", "resume at most once a second"))
                return
            if self.resumed:
                # One replay per connection: a client acking events it never read could otherwise
                # pull replay after replay into the server's buffers.
                await self._send_event(error_event("rate_limited", "one resume per connection; reconnect to resume"))
                return
            self.resumed = True
            self.last_resume = now
            await self._resume(frame)
            return
        client = self.scope.get("client") or (None, None)
        answer = await send_bot_command(user=self.scope["user"], command=frame, address=client[0])
        if answer is not None:
            await self._answer(answer)

    async def _answer(self, result: CommandResultData) -> None:
        """Answer this socket's command itself (the bot's answers come with the events)."""
        await self._send_event(BotControlEvent(bot=bot_keys().bot_id, data=result))

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
