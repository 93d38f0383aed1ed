"""One Redis subscription per web process, for every bot, fanned out to every socket through
bounded queues.

Channels' textbook bridge (a worker calling `group_send` per event) lost most events under load
when measured here, so events do not go through the channel layer: the relay holds the only
subscription (a pattern over every bot's events channel) and hands each event's JSON text,
unchanged, to the queues of the sockets watching that bot (feed.py). Bots are discovered from
their heartbeats in Redis (bot_api.registry): nothing to configure. Overview sockets get each
bot's summary instead, conflated to a few a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from bot_api.backoff import Backoff
from bot_api.errors import ContractError, TransportError
from bot_api.events import BotListData, BotListEvent, HeartbeatData, HeartbeatEvent, StatusEvent, encode_event
from bot_api.heartbeat import is_alive
from bot_api.keys import RedisKeys
from bot_api.redis_conn import Where, connect
from bot_api.registry import MAX_BOTS, BotSeen, discover
from bot_api.subscriber import Disconnected, EventSubscriber, Received, Subscribed
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import bot_keys, redis_client, redis_target
from crypto_bot_ui.dashboard.feed import BotFeed
from crypto_bot_ui.dashboard.queues import (
    RECENT_CHARS,
    RECENT_MIN_CHARS,
    RECENT_TOTAL_CHARS,
    Frame,
    Mailbox,
    Subscription,
)
from crypto_bot_ui.dashboard.summaries import summary_of

logger = logging.getLogger(__name__)

IDLE_HEARTBEAT = 1.0
"""Seconds without any frame after which a socket gets a heartbeat: a page that hears nothing
for a few seconds can then say the link is stale instead of showing frozen prices as live."""
SUMMARY_INTERVAL = 0.5
"""Seconds between two summaries of one bot on overview sockets (conflated: the newest goes)."""
PRESENCE_INTERVAL = 0.5
"""Seconds between two reads of the registry and the heartbeats: a bot that dies is shown offline
within ~4.5 s (bot_api.registry.STALE_BELOW_MS), inside its heartbeat's 5 s TTL."""
UNWATCHED_KEEP = 60.0
"""Seconds a bot's recent events are kept for replays after its last socket left."""


@dataclass(eq=False)
class Relay:
    """Owns the subscription, the bots' feeds and the overview for one event loop."""

    keys: RedisKeys
    """Names under the shared prefix; `keys.bot_id` is the default bot (always relayed)."""
    redis_url: Where
    """Redis: a URL, or the master its Sentinels name (`bot_link.redis_target()`)."""
    feeds: dict[str, BotFeed] = field(default_factory=dict)
    listed: tuple[str, ...] | None = None
    """The bots of the registry, by id, as last read (None: not read yet)."""
    overview: set[Subscription] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overview_fan_out: float = float("-inf")
    unlisted: int = 0
    """Live events dropped because their bot has no feed (not in the registry, nobody watches it)."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Start the background tasks (idempotent)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._supervise(self._pump), name="relay-pump"),
                asyncio.create_task(self._supervise(self._watch_bots), name="relay-bots"),
                asyncio.create_task(self._supervise(self._heartbeat), name="relay-heartbeat"),
                asyncio.create_task(self._supervise(self._summaries), name="relay-summaries"),
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
                if body == self._pump:  # the pump sets it again once subscribed; no other loop would
                    self.ready.clear()
            await asyncio.sleep(backoff.next_delay())

    def feed(self, bot_id: str) -> BotFeed | None:
        """The feed of `bot_id`, made on first use; None beyond MAX_BOTS."""
        feed = self.feeds.get(bot_id)
        if feed is None:
            if len(self.feeds) >= MAX_BOTS:
                return None
            feed = self.feeds[bot_id] = BotFeed(keys=self.keys.for_bot(bot_id))
        return feed

    def subscribe(self, bot_id: str, maxsize: int) -> tuple[BotFeed, Subscription] | None:
        """Register a socket of `bot_id`; subscribe before reading the snapshot so nothing falls
        between. None when the bot cannot be relayed (beyond MAX_BOTS)."""
        self.start()
        feed = self.feed(bot_id)
        if feed is None:
            return None
        sub = Subscription(queue=Mailbox(maxsize))
        feed.watch(sub)
        return feed, sub

    def unsubscribe(self, feed: BotFeed, sub: Subscription) -> None:
        """Forget a socket."""
        feed.unwatch(sub)

    def subscribe_overview(self, maxsize: int) -> Subscription:
        """Register an overview socket (it reads `overview_frames` first)."""
        self.start()
        sub = Subscription(queue=Mailbox(maxsize))
        self.overview.add(sub)
        return sub

    def unsubscribe_overview(self, sub: Subscription) -> None:
        """Forget an overview socket."""
        self.overview.discard(sub)

    def list_frame(self, bot_id: str | None = None) -> Frame | None:
        """The list of bots, if read yet, as an envelope of `bot_id` (default: the default bot's):
        a bot's socket carries only envelopes of its bot."""
        return None if self.listed is None else self._list_frame_of(bot_id or self.keys.bot_id, self.listed)

    @staticmethod
    def _list_frame_of(bot_id: str, listed: tuple[str, ...]) -> Frame:
        event = BotListEvent(bot=bot_id, data=BotListData(bots=list(listed)))
        return Frame(raw=encode_event(event), seq=None)

    def overview_frames(self) -> list[Frame]:
        """What a new overview socket starts from: the list, then every listed bot's summary."""
        listed = self.list_frame()
        if listed is None:
            return []
        return [listed, *(self.feeds[b].summary_frame() for b in self.listed or () if b in self.feeds)]

    def _to_overview(self, frame: Frame) -> None:
        self.overview_fan_out = time.monotonic()
        for sub in tuple(self.overview):
            sub.offer(frame)

    async def _pump(self) -> None:
        subscriber = EventSubscriber(lambda: connect(self.redis_url, for_pubsub=True), self.keys, every_bot=True)
        async for item in subscriber:
            if isinstance(item, Received):
                feed = self.feeds.get(item.event.bot)
                if feed is None:
                    # Not a bot of the registry (yet): its feed is made when the registry lists
                    # it, or a socket asks for it. Events on made-up channels cost nothing more.
                    self.unlisted += 1
                    continue
                await feed.on_live(Frame.of(item.event, item.raw), item.event)
            elif isinstance(item, Subscribed):
                self.ready.set()
                # Pub/sub keeps nothing for absent subscribers: what was published while we were
                # (re)connecting is replayed from the events stream, or else covered by the
                # snapshot. Sockets drop whatever they already have (by seq). A bot nobody
                # watches only needs its summary: its snapshot, not a replay.
                for feed in tuple(self.feeds.values()):
                    if feed.subscribers:
                        await feed.catch_up()
                    else:
                        await self._refresh_summary(feed)
            elif isinstance(item, Disconnected):
                self.ready.clear()

    async def _watch_bots(self) -> None:
        """Every PRESENCE_INTERVAL: the registry (new and retired bots) and who is online."""
        self.feed(self.keys.bot_id)  # the default bot is relayed even before it ever announced itself
        while True:
            try:
                seen = await discover(redis_client(), self.keys)
            except TransportError:
                seen = None
            await self._apply_registry(seen)
            self._tidy()
            await asyncio.sleep(PRESENCE_INTERVAL)

    def _tidy(self) -> None:
        """Let go of what nobody needs: the feeds of bots neither listed, watched nor the default
        (retired bots, ids a socket asked for while Redis was away), the recent events of bots
        nobody watched for a while, and whatever exceeds each watched bot's share of
        RECENT_TOTAL_CHARS."""
        listed = self.listed
        for bot_id, feed in tuple(self.feeds.items()):
            feed.let_go(UNWATCHED_KEEP)
            if listed is not None and bot_id != self.keys.bot_id and bot_id not in listed and feed.idle():
                del self.feeds[bot_id]
        watched = [feed for feed in self.feeds.values() if feed.subscribers or feed.unwatched_since is not None]
        share = min(RECENT_CHARS, max(RECENT_TOTAL_CHARS // max(1, len(watched)), RECENT_MIN_CHARS))
        for feed in watched:
            feed.recent.max_chars = share

    async def _apply_registry(self, seen: list[BotSeen] | None) -> None:
        """Bring the feeds in line with the registry (None: Redis did not answer, every bot offline)."""
        by_id = {} if seen is None else {bot.bot_id: bot for bot in seen}
        for bot_id in by_id:
            feed = self.feed(bot_id)
            if feed is not None and not feed.summary_read:
                # Made before the registry was read (the default bot, one whose events came
                # first): its summary starts from its snapshot all the same.
                await self._first_summary(feed, by_id[bot_id])
        for feed in tuple(self.feeds.values()):
            was = feed.bot_online
            bot = by_id.get(feed.bot_id)
            if bot is not None:
                feed.set_online(bot.online, bot.last_seen)
            else:  # not (or no longer) registered: its heartbeat alone says
                feed.set_online(seen is not None and await self._alive(feed), None)
            if was is not None and was != feed.bot_online and feed.bot_id in (self.listed or ()):
                # A bot going off- or online is news now, not at the next summary tick.
                self._to_overview(feed.summary_frame())
                feed.summary_changed = False
        if seen is not None:
            listed = tuple(sorted(by_id))
            if listed != self.listed:
                self.listed = listed
                self._to_overview(self._list_frame_of(self.keys.bot_id, listed))
                for feed in self.feeds.values():
                    if feed.subscribers:
                        feed.fan_out(self._list_frame_of(feed.bot_id, listed))

    async def _alive(self, feed: BotFeed) -> bool:
        try:
            return await is_alive(redis_client(), feed.keys.heartbeat_key)
        except TransportError:
            return False

    async def _first_summary(self, feed: BotFeed, bot: BotSeen) -> None:
        """A bot seen for the first time: its summary from its snapshot (its events keep it current)."""
        feed.set_online(bot.online, bot.last_seen)
        await self._refresh_summary(feed)
        feed.summary_read = True

    async def _refresh_summary(self, feed: BotFeed) -> None:
        """The summary from the bot's snapshot, keeping figures of newer events already followed."""
        try:
            received = await feed.stored().snapshot()
        except (TransportError, ContractError) as exc:
            logger.info("no snapshot of %s: %s", feed.bot_id, exc)
            return
        if received is None or not isinstance(received.event, StatusEvent):
            return
        old = feed.summary
        summary = summary_of(received.event, online=old.online, last_seen=old.last_seen)
        if old.pnl is not None and (old.last_seq or 0) > (summary.last_seq or 0):
            # The snapshot trails the events (written a few times a second): state and strategy
            # from it, the account's figures from the newer event.
            summary = summary.model_copy(update={"pnl": old.pnl, "equity": old.equity, "decimals": old.decimals,
                                                 "last_seq": old.last_seq})
        feed.set_summary(summary)

    async def _summaries(self) -> None:
        """Every SUMMARY_INTERVAL: the summaries that changed, to every overview socket."""
        while True:
            await asyncio.sleep(SUMMARY_INTERVAL)
            changed = [feed for feed in self.feeds.values() if feed.summary_changed]
            for feed in changed:
                feed.summary_changed = False
            if self.overview and changed:
                listed = set(self.listed or ())
                for feed in changed:
                    if feed.bot_id in listed:
                        self._to_overview(feed.summary_frame())

    async def _heartbeat(self) -> None:
        """Send a heartbeat to the sockets of every bot (and the overview) that heard nothing for
        IDLE_HEARTBEAT seconds. A socket that just connected may get its first one up to a second
        late; its snapshot arrived meanwhile. One frame per bot, built once a second at most."""
        while True:
            now = time.monotonic()
            for feed in self.feeds.values():
                if feed.subscribers and now - feed.last_fan_out >= IDLE_HEARTBEAT:
                    feed.fan_out(feed.heartbeat_frame())
            if self.overview and now - self.overview_fan_out >= IDLE_HEARTBEAT:
                event = HeartbeatEvent(bot=self.keys.bot_id, data=HeartbeatData(last_seq=None))
                self._to_overview(Frame(raw=encode_event(event), seq=None))
            await asyncio.sleep(IDLE_HEARTBEAT / 4)

    async def aclose(self) -> None:
        """Stop the background tasks (tests and shutdown)."""
        await cancel_and_wait(*self._tasks)
        self._tasks = []


_relays: WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = WeakKeyDictionary()


async def close_relay() -> None:
    """Stop this event loop's relay, if it has one (the web process's shutdown)."""
    relay = _relays.pop(asyncio.get_running_loop(), None)
    if relay is not None:
        await relay.aclose()


def get_relay() -> Relay:
    """The relay of the running event loop (one per web process in production)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = Relay(keys=bot_keys(), redis_url=redis_target())
        _relays[loop] = relay
    return relay
