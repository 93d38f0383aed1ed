"""One Redis subscription per web process, fanned out to every socket through bounded queues.

Channels' textbook bridge (a worker calling `group_send` per event) lost most events under load
when measured here, so events do not go through the channel layer: the relay holds the only
subscription and hands each event's JSON text, unchanged, to each consumer's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from django.conf import settings
from redis.exceptions import RedisError

from bot_api.errors import ContractError
from bot_api.events import BotPresenceData, BotPresenceEvent, StatusEvent, encode_event, parse_event
from bot_api.heartbeat import HEARTBEAT_INTERVAL, is_alive
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from bot_api.subscriber import Disconnected, EventSubscriber, Received, Subscribed
from crypto_bot_ui.core.bot_link import bot_keys, redis_client

logger = logging.getLogger(__name__)

LAGGED = object()
"""Put in a queue (after clearing it) when its consumer fell too far behind."""


@dataclass(eq=False)
class Frame:
    """An outgoing frame: the JSON text and the bot seq it carries (None for server frames)."""

    raw: str
    seq: int | None
    is_status: bool = False


@dataclass(eq=False)
class Subscription:
    """One socket's bounded queue of frames."""

    queue: asyncio.Queue[Frame | object]
    dropped: bool = False

    def offer(self, frame: Frame) -> None:
        """Queue a frame; on overflow empty the queue and leave only the LAGGED marker."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(LAGGED)


@dataclass(eq=False)
class Relay:
    """Owns the subscription task and the presence watcher for one event loop."""

    keys: RedisKeys
    redis_url: str
    subscribers: set[Subscription] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    bot_online: bool | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Start the background tasks (idempotent)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._pump(), name="relay-pump"),
                asyncio.create_task(self._watch_presence(), name="relay-presence"),
            ]

    def subscribe(self, maxsize: int) -> Subscription:
        """Register a socket; subscribe before reading the snapshot so nothing falls between."""
        self.start()
        sub = Subscription(queue=asyncio.Queue(maxsize=maxsize))
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a socket."""
        self.subscribers.discard(sub)

    async def snapshot(self) -> Frame | None:
        """The bot's latest status envelope from Redis, or None if the bot never published."""
        raw = await redis_client().get(self.keys.status_key)
        if not raw:
            return None
        try:
            event = parse_event(raw)
        except ContractError as exc:
            logger.warning("ignoring an off-contract status snapshot: %s", exc.message)
            return None
        if not isinstance(event, StatusEvent):
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return Frame(raw=text, seq=event.seq, is_status=True)

    def presence_frame(self) -> Frame | None:
        """A bot_presence frame for the current state, if known."""
        if self.bot_online is None:
            return None
        event = BotPresenceEvent(bot=self.keys.bot_id, data=BotPresenceData(online=self.bot_online))
        return Frame(raw=encode_event(event), seq=None)

    def _fan_out(self, frame: Frame) -> None:
        for sub in tuple(self.subscribers):
            sub.offer(frame)

    async def _pump(self) -> None:
        subscriber = EventSubscriber(lambda: connect(self.redis_url, for_pubsub=True), self.keys)
        first = True
        async for item in subscriber:
            if isinstance(item, Received):
                is_status = isinstance(item.event, StatusEvent)
                self._fan_out(Frame(raw=item.raw, seq=item.event.seq, is_status=is_status))
            elif isinstance(item, Subscribed):
                self.ready.set()
                if not first:
                    # Events published while we were away are lost to pub/sub: resync everyone.
                    await self._resync()
                first = False
            elif isinstance(item, Disconnected):
                self.ready.clear()

    async def _resync(self) -> None:
        try:
            frame = await self.snapshot()
        except (RedisError, OSError) as exc:
            logger.warning("resync snapshot failed: %s", exc)
            return
        if frame is not None:
            logger.info("relay resubscribed; sending a fresh snapshot (seq %s)", frame.seq)
            self._fan_out(frame)

    async def _watch_presence(self) -> None:
        while True:
            try:
                online = await is_alive(redis_client(), self.keys.heartbeat_key)
            except (RedisError, OSError):
                online = False
            if online != self.bot_online:
                self.bot_online = online
                frame = self.presence_frame()
                if frame is not None:
                    self._fan_out(frame)
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    async def aclose(self) -> None:
        """Stop the background tasks (tests and shutdown)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
