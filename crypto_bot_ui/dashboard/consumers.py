"""A bot's dashboard socket: its snapshot first, then its live events; commands go to that bot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from bot_api.backoff import Backoff
from bot_api.commands import Ack, CommandError, Resume, parse_browser_frame
from bot_api.errors import ContractError, TransportError
from bot_api.events import (
    BotControlEvent,
    CommandResultData,
    StatusEvent,
    encode_event,
    error_event,
    parse_event,
)
from bot_api.frames import MAX_SEND_BYTES, join_frames, too_big
from bot_api.registry import is_registered
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import redis_client
from crypto_bot_ui.dashboard.feed import BotFeed
from crypto_bot_ui.dashboard.flow import InboundLimit, Window
from crypto_bot_ui.dashboard.queues import LAGGED, Frame, Subscription, conflate
from crypto_bot_ui.dashboard.relay import Relay, get_relay
from crypto_bot_ui.dashboard.services import refusal, send_bot_command
from crypto_bot_ui.dashboard.sockets import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_LAGGED,
    CLOSE_UNKNOWN_BOT,
    GuardedSocket,
)
from crypto_bot_ui.trades.selectors import has_records

logger = logging.getLogger(__name__)


READY_TIMEOUT = 5.0
CONFLATE_ABOVE = 50
"""Frames queued for one socket beyond which its price updates are conflated (it is behind)."""
RESUME_INTERVAL = 1.0
"""Seconds between two resumes on one socket (a client reconnects; it never loops on resume)."""
INBOUND_RATE = 20.0
INBOUND_BURST = 60
"""Frames per second (and at once) one socket may send, whatever they are: a page sends an ack a
second, a resume per connection and the commands a person clicks."""


@dataclass(slots=True)
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


class DashboardConsumer(GuardedSocket):
    """Relays one bot's events to a logged-in browser and its commands back to that bot only.

    The bot is the path's (`/ws/bots/<id>/`), or the default bot (`/ws/dashboard/`)."""

    bot_id: str
    relay: Relay
    feed: BotFeed
    pump: asyncio.Task[None] | None = None
    window: Window
    """Bot events sent and not yet acknowledged (flow control, one per socket)."""
    inbound: InboundLimit
    resumed: bool = False
    """A socket resumes once, right after it opens (a client that needs another reconnects)."""
    last_resume: float = -RESUME_INTERVAL
    """When this socket last resumed (monotonic): a replay reads up to thousands of entries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bot_id = settings.BOT_ID  # the path's, once connected
        self.window = Window(max_events=settings.WS_MAX_UNACKED, max_bytes=settings.WS_MAX_UNACKED_BYTES)
        self.inbound = InboundLimit(rate=INBOUND_RATE, burst=INBOUND_BURST)

    async def connect(self) -> None:
        """Refuse anonymous users and unknown bots; otherwise start the event pump."""
        self.bot_id = self.scope.get("url_route", {}).get("kwargs", {}).get("bot_id") or settings.BOT_ID
        if not await self.admit(bot_id=self.bot_id):
            return
        self.relay = get_relay()
        if not await self._known():
            await self._error("unknown_bot", f"there is no bot {self.bot_id}")
            await self.close(code=CLOSE_UNKNOWN_BOT)
            return
        subscribed = self.relay.subscribe(self.bot_id, settings.WS_SEND_QUEUE)
        if subscribed is None:
            await self._error("too_many_bots", "this dashboard relays no more bots")
            await self.close(code=CLOSE_UNKNOWN_BOT)
            return
        self.feed, self.sub = subscribed
        self._start_pump(Cursor(), snapshot_first=True)

    async def _known(self) -> bool:
        """Whether the path's bot is one to relay: the default one, one already relayed, one in the
        registry, or one with records (as the page and the REST API know bots). True when Redis
        cannot say: the page then shows the outage, not a refusal."""
        if self.bot_id == settings.BOT_ID or self.bot_id in self.relay.feeds:
            return True
        try:
            if await is_registered(redis_client(), self.relay.keys.for_bot(self.bot_id)):
                return True
        except TransportError:
            return True
        try:
            return bool(await database_sync_to_async(has_records)(bot_id=self.bot_id))
        except DatabaseError:
            return True

    async def release(self) -> None:
        """Stop the pump and leave the relay."""
        await super().release()
        await self._stop_pump()
        if self.sub is not None:
            self.relay.unsubscribe(self.feed, self.sub)
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
                await self._send_new(cursor, *conflate(await self._initial_state()), self.feed.presence_frame(),
                                     self.relay.list_frame(self.bot_id))
            if not await self._send_paced(cursor, backlog):
                return
            del backlog[:]  # sent: not kept for the socket's lifetime
            while True:
                # Whatever queued up while we were busy goes out together.
                batch = await sub.queue.take_all()
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
        # A browser reads frames off the network however slow its page: a client that stopped
        # applying them is only visible through its acks. It reconnects and resumes (or gets a
        # snapshot).
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
            await self.send_text(text)

    async def _resume(self, frame: Resume) -> None:
        """Continue this socket from the client's `last_seq`: replay, or a fresh status if gone.

        The live pump stops first, so everything after the answer is one ordered stream: the
        missed events (recovered: true) or a status marked recovered: false, then live events.
        """
        await self._stop_pump()
        try:
            replay = await self.feed.replay_since(frame.last_seq)
            resync = [] if replay is not None else await self.feed.resync()
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
            cursor = Cursor(seq=frame.last_seq, started_at=self.feed.run)
        else:
            cursor, replay = Cursor(), _unrecovered(resync)
        presence = self.feed.presence_frame()
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
                return await self.feed.resync()
            except (TimeoutError, TransportError) as exc:
                if not told:
                    logger.warning("no snapshot for a new socket yet: %s", exc)
                    await self._error("unavailable", "the bot's data is unreachable; retrying")
                    told = True
            await asyncio.sleep(backoff.next_delay())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Validate a browser frame and forward its command; answer every defect with `error`."""
        now = asyncio.get_running_loop().time()
        if not self.inbound.allow(now):
            # Dropped unread: a flood costs neither parsing nor answers (one notice a second).
            if self.inbound.should_tell(now):
                await self._error("rate_limited", "too many frames: some were dropped")
            return
        if text_data is None:
            await self._error("invalid_frame", "binary frames are not accepted")
            return
        try:
            frame = parse_browser_frame(text_data)
        except ContractError as exc:
            await self._error(exc.code, exc.message)
            return
        except Exception:
            # Whatever a frame does to the parser, the socket survives and says so.
            logger.exception("unexpected failure parsing a browser frame")
            await self._error("invalid_frame", "frame could not be parsed")
            return
        if isinstance(frame, Ack):
            if not self.window.ack(frame.seq):
                # An ack for events never sent would open the window of a socket that stopped
                # reading: refused, and the old ack stands.
                await self._error(
                    "invalid_ack", f"ack of seq {frame.seq}, but the last event sent was {self.window.top}")
            return
        if isinstance(frame, Resume):
            if now - self.last_resume < RESUME_INTERVAL:
                await self._error("rate_limited", "resume at most once a second")
                return
            if self.resumed:
                # One replay per connection: a client acking events it never read could otherwise
                # pull replay after replay into the server's buffers.
                await self._error("rate_limited", "one resume per connection; reconnect to resume")
                return
            self.resumed = True
            self.last_resume = now
            await self._resume(frame)
            return
        client = self.scope.get("client") or (None, None)
        answer = await send_bot_command(user=self.scope["user"], command=frame, address=client[0], bot_id=self.bot_id)
        if answer is not None:
            await self._answer(answer)

    async def _error(self, code: str, message: str) -> None:
        """Send an `error` frame about this socket's bot."""
        await self.send_event(error_event(code, message, bot=self.bot_id))

    async def _answer(self, result: CommandResultData) -> None:
        """Answer this socket's command itself (the bot's answers come with the events)."""
        await self.send_event(BotControlEvent(bot=self.bot_id, data=result))
