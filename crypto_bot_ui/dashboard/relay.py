"""One Redis subscription per web process, fanned out to every socket through bounded queues.

Channels' textbook bridge (a worker calling `group_send` per event) lost most events under load
when measured here, so events do not go through the channel layer: the relay holds the only
subscription and hands each event's JSON text, unchanged, to each consumer's queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakKeyDictionary

from django.conf import settings

from bot_api.backoff import Backoff
from bot_api.errors import TransportError
from bot_api.events import (
    BotPresenceData,
    BotPresenceEvent,
    HeartbeatData,
    HeartbeatEvent,
    encode_event,
)
from bot_api.heartbeat import HEARTBEAT_INTERVAL, is_alive
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from bot_api.stored import StoredEvents
from bot_api.subscriber import Disconnected, EventSubscriber, Received, Subscribed
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import bot_keys, redis_client
from crypto_bot_ui.dashboard.queues import REPLAY_CHARS, REPLAY_LIMIT, Frame, Recent, Subscription

logger = logging.getLogger(__name__)

IDLE_HEARTBEAT = 1.0
"""Seconds without any frame after which every socket gets a heartbeat: a page that hears nothing
for a few seconds can then say the link is stale instead of showing frozen prices as live."""

@dataclass(eq=False)
class Relay:
    """Owns the subscription task and the presence watcher for one event loop."""

    keys: RedisKeys
    redis_url: str
    subscribers: set[Subscription] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    bot_online: bool | None = None
    last_seq: int | None = None
    """The seq of the last bot event handed to the sockets (where a catch-up resumes)."""
    recent: Recent = field(default_factory=Recent)
    run: datetime | None = None
    """`started_at` of the last status handed to the sockets (snapshots included): the bot run."""
    refused: int = 0
    """Live events dropped because they were ahead of the bot's stored seq (forged or foreign)."""
    last_fan_out: float = float("-inf")
    """When (time.monotonic()) a frame last went to every socket: heartbeats fill the silences."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Start the background tasks (idempotent)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._supervise(self._pump), name="relay-pump"),
                asyncio.create_task(self._supervise(self._watch_presence), name="relay-presence"),
                asyncio.create_task(self._supervise(self._heartbeat), name="relay-heartbeat"),
            ]

    async def _supervise(self, body: Callable[[], Awaitable[None]]) -> None:
        """Run a relay loop forever: an unexpected error is logged and the loop restarted.

        These tasks are the only path from Redis to every socket of this process; letting one
        die would silently freeze every screen.
        """
        backoff = Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                await body()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("relay loop %s crashed; restarting", getattr(body, "__name__", body))
                self.ready.clear()
            await asyncio.sleep(backoff.next_delay())

    def subscribe(self, maxsize: int) -> Subscription:
        """Register a socket; subscribe before reading the snapshot so nothing falls between."""
        self.start()
        sub = Subscription(queue=asyncio.Queue(maxsize=maxsize))
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a socket."""
        self.subscribers.discard(sub)

    def stored(self) -> StoredEvents:
        """What Redis keeps of the bot's events (snapshot, seq, replay stream)."""
        return StoredEvents(redis_client(), self.keys)

    async def snapshot(self) -> Frame | None:
        """The bot's latest status envelope from Redis, or None if the bot never published."""
        received = await self.stored().snapshot()
        return None if received is None else Frame.of(received.event, received.raw)

    async def resync(self, *, from_memory: bool = True) -> list[Frame]:
        """The bot's snapshot, then every event published after it: a full state, in order.

        The bot writes its snapshot a few times a second, not with every event, so it may trail
        the stream; the replay brings it up to date. While the bot re-publishes a backlog (after
        Redis was away) the snapshot is ahead instead: the older events that follow are dropped
        by seq. Empty if the bot never published. `from_memory`: the replay may come from the
        recent events this relay forwarded (a socket's view); the relay's own catch-up reads Redis.
        """
        snapshot = await self.snapshot()
        if snapshot is None or snapshot.seq is None:
            return [] if snapshot is None else [snapshot]
        after = await (self.replay_since(snapshot.seq) if from_memory else self.stream_since(snapshot.seq))
        if after is None and snapshot.seq < await self.stored().stored_seq():
            # A hole after the snapshot; the bot's next event brings a fresh snapshot in that
            # case (its publish refuses to go without one).
            logger.warning("the events after snapshot %d are not all in the stream", snapshot.seq)
        return [snapshot, *(after or [])]

    def presence_frame(self) -> Frame | None:
        """A bot_presence frame for the current state, if known."""
        if self.bot_online is None:
            return None
        event = BotPresenceEvent(bot=self.keys.bot_id, data=BotPresenceData(online=self.bot_online))
        return Frame(raw=encode_event(event), seq=None)

    def _fan_out(self, frame: Frame) -> None:
        # Every socket gets every frame, so one timestamp tells whether any socket is idle.
        self.last_fan_out = time.monotonic()
        for sub in tuple(self.subscribers):
            sub.offer(frame)

    def heartbeat_frame(self) -> Frame:
        """A heartbeat carrying the last bot seq this process handed out."""
        event = HeartbeatEvent(bot=self.keys.bot_id, data=HeartbeatData(last_seq=self.last_seq))
        return Frame(raw=encode_event(event), seq=None)

    async def _heartbeat(self) -> None:
        """Send a heartbeat to every socket whenever nothing went out for IDLE_HEARTBEAT seconds.

        A socket that just connected may get its first one up to a second late; its snapshot
        arrived meanwhile. One frame for all sockets, built once a second at most.
        """
        while True:
            idle = time.monotonic() - self.last_fan_out
            if idle >= IDLE_HEARTBEAT:
                if self.subscribers:
                    self._fan_out(self.heartbeat_frame())
                idle = 0.0
            await asyncio.sleep(IDLE_HEARTBEAT - idle)

    async def _pump(self) -> None:
        subscriber = EventSubscriber(lambda: connect(self.redis_url, for_pubsub=True), self.keys)
        async for item in subscriber:
            if isinstance(item, Received):
                await self._on_live(Frame.of(item.event, item.raw))
            elif isinstance(item, Subscribed):
                self.ready.set()
                # Pub/sub keeps nothing for absent subscribers: what was published while we were
                # (re)connecting is replayed from the events stream, or else covered by the
                # snapshot. Sockets drop whatever they already have (by seq).
                await self._catch_up()
            elif isinstance(item, Disconnected):
                self.ready.clear()

    async def _on_live(self, frame: Frame) -> None:
        """Forward a frame from pub/sub; a hole in the seqs before it is filled first, and a frame
        ahead of the seq the bot stored is dropped."""
        if self.last_seq is not None and frame.seq is not None and frame.seq > self.last_seq + 1:
            if not await self._stored_at_least(frame.seq):
                # The bot's publish script stores the seq before it publishes: an event ahead of
                # it was not published by the bot. Forwarded, its seq would make every socket
                # drop the real events below it (a page frozen until reloaded).
                self.refused += 1
                if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                    logger.warning("dropped %d event(s) ahead of the bot's stored seq (latest: %s after %s)",
                                   self.refused, frame.seq, self.last_seq)
                return
            # Bot seqs are consecutive on the channel: a hole means events were lost (e.g. in
            # flight when Redis died). Replay them from the stream, or resync with the snapshot.
            logger.warning("relay saw seq %s after %s; catching up", frame.seq, self.last_seq)
            await self._catch_up()
        self._forward(frame)

    async def _stored_at_least(self, seq: int) -> bool:
        """Whether the bot's stored seq has reached `seq` (True when Redis cannot say: a catch-up follows)."""
        try:
            return await self.stored().stored_seq() >= seq
        except TransportError:
            return True

    def _forward(self, frame: Frame, *, event: bool = True) -> None:
        """Hand a frame to every socket; `event`: it is a stream event (a snapshot is not)."""
        if frame.is_status:
            if frame.started_at != self.run:
                self.recent.clear()  # another bot run: its numbering may have started again
            self.run = frame.started_at
        if event:
            self.recent.add(frame)
        if frame.seq is not None:
            # Never backwards: a catch-up may already have gone past this frame.
            self.last_seq = frame.seq if self.last_seq is None else max(self.last_seq, frame.seq)
        self._fan_out(frame)

    async def _catch_up(self) -> None:
        """After (re)subscribing: replay the missed events if the stream has them all, else resync."""
        try:
            missed = await self._missed_events()
            if missed is not None:
                if missed:
                    logger.info("relay replays %d event(s) missed while away", len(missed))
                for frame in missed:
                    self._forward(frame)
                return
            frames = await self.resync(from_memory=False)
        except TransportError as exc:
            logger.warning("catching up after subscribing failed: %s", exc)
            return
        if frames and self.subscribers:
            logger.info("relay sends the snapshot (seq %s) to %d socket(s)", frames[0].seq, len(self.subscribers))
        self.recent.clear()
        for index, frame in enumerate(frames):
            self._forward(frame, event=index > 0)
        if frames and frames[-1].seq is not None:
            # What Redis holds is the truth now, even if behind what was forwarded before (Redis
            # came back from lossy persistence): a later event that does not follow it is then a
            # hole, and its catch-up finds the snapshot the bot writes with that event.
            self.last_seq = frames[-1].seq

    async def _missed_events(self) -> list[Frame] | None:
        """Events after the last one forwarded, or None when the stream cannot supply them all."""
        if self.last_seq is None:
            return None
        return await self.stream_since(self.last_seq)

    async def replay_since(self, seq: int) -> list[Frame] | None:
        """Every bot event after `seq` for a socket: from the recent events this relay forwarded
        when they cover it, else from the Redis stream (see `stream_since`).

        Events newer than this relay has seen are not included: the socket's queue brings them.
        None (a snapshot answers) beyond REPLAY_CHARS: the stream would hold the same events.
        """
        remembered = self.recent.since(seq)
        if remembered is None:
            return await self.stream_since(seq)
        return remembered if sum(len(frame.raw) for frame in remembered) <= REPLAY_CHARS else None

    async def stream_since(self, seq: int) -> list[Frame] | None:
        """Every bot event after `seq`, in order, from the events stream (the replay window); None
        when the stream cannot supply them all within REPLAY_LIMIT and REPLAY_CHARS."""
        return await self.stored().since(seq, max_events=REPLAY_LIMIT, max_chars=REPLAY_CHARS,
                                         keep=lambda r: Frame.of(r.event, r.raw))

    async def _watch_presence(self) -> None:
        while True:
            try:
                online = await is_alive(redis_client(), self.keys.heartbeat_key)
            except TransportError:
                online = False
            if online != self.bot_online:
                self.bot_online = online
                frame = self.presence_frame()
                if frame is not None:
                    self._fan_out(frame)
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    async def aclose(self) -> None:
        """Stop the background tasks (tests and shutdown)."""
        await cancel_and_wait(*self._tasks)
        self._tasks = []


_relays: WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = WeakKeyDictionary()


def get_relay() -> Relay:
    """The relay of the running event loop (one per web process in production)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = Relay(keys=bot_keys(), redis_url=settings.REDIS_URL)
        _relays[loop] = relay
    return relay
