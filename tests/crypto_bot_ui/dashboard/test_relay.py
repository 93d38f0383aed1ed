"""The relay's per-socket queue: bounded, and a lagging socket is cut off rather than grown."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bot_api.events import BotState, StatusChangeData, StatusChangeEvent, encode_event
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.feed import BotFeed
from crypto_bot_ui.dashboard.queues import (
    LAGGED,
    RECENT_CHARS,
    REPLAY_LIMIT,
    Frame,
    Mailbox,
    Recent,
    Subscription,
    conflate,
)
from crypto_bot_ui.dashboard.relay import Relay
from tests.frames import price, status_at


def test_overflow_drops_the_backlog_and_leaves_only_the_lagged_marker() -> None:
    sub = Subscription(queue=Mailbox(2))
    sub.offer(Frame(raw="a", seq=1))
    sub.offer(Frame(raw="b", seq=2))
    assert not sub.dropped
    sub.offer(Frame(raw="c", seq=3))
    assert sub.dropped
    assert sub.queue.qsize() == 1 and sub.queue.get_nowait() is LAGGED
    sub.offer(Frame(raw="d", seq=4))  # nothing more is queued for a dropped socket
    assert sub.queue.empty()


def test_frames_keep_their_order_within_the_bound() -> None:
    sub = Subscription(queue=Mailbox(10))
    for seq in range(1, 6):
        sub.offer(Frame(raw=str(seq), seq=seq))
    got = [sub.queue.get_nowait() for _ in range(5)]
    assert [f.seq for f in got if isinstance(f, Frame)] == [1, 2, 3, 4, 5]


async def test_catch_up_replays_missed_events_or_falls_back_to_the_snapshot(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    relay, sub, publisher = await published_relay(redis_url, redis_prefix, 4)
    keys = relay.keys

    relay.last_seq = 1  # the relay had forwarded seq 1 when its subscription dropped
    await relay.catch_up()
    assert [f.seq for f in drain(sub)] == [2, 3, 4]
    assert relay.last_seq == 4

    await relay.catch_up()  # nothing missed: nothing to send
    assert drain(sub) == []

    await publisher.publish(price(5), snapshot=status_at(5))
    await publisher.publish(price(6), snapshot=status_at(6))
    await bot_link.redis_client().xdel(keys.events_stream, "5-0")  # trimmed: a gap after seq 4
    await relay.catch_up()
    assert [(f.seq, f.is_status) for f in drain(sub)] == [(6, True)]


async def test_after_redis_came_back_with_less_the_next_event_resyncs_the_sockets(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    relay, sub, publisher = await published_relay(redis_url, redis_prefix, 4)
    relay.last_seq = 10  # forwarded up to 10, then Redis restarted from a backup that ends at 4
    await relay.catch_up()
    assert [(f.seq, f.is_status) for f in drain(sub)] == [(4, True)]  # sockets past it drop it
    # The bot's next event, 11, does not follow 4: the bot writes a snapshot with it, and the
    # relay sends that snapshot (sockets at 10 take it) before the event itself.
    await publisher.publish(price(11), snapshot=status_at(11))
    await relay.on_live(Frame.of(price(11), "p11"), price(11))
    assert [(f.seq, f.is_status) for f in drain(sub)] == [(11, True), (11, False)]


async def published_relay(
    redis_url: str, redis_prefix: str, count: int,
) -> tuple[BotFeed, Subscription, EventPublisher]:
    """A relay (with one subscribed socket queue) over a stream of `count` published price events."""
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(bot_link.redis_client(), keys)
    for seq in range(1, count + 1):
        await publisher.publish(price(seq), snapshot=status_at(seq))
    relay = BotFeed(keys=keys)
    sub = Subscription(queue=Mailbox(100))
    relay.watch(sub)
    return relay, sub, publisher


def drain(sub: Subscription) -> list[Frame]:
    frames = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        assert isinstance(item, Frame)
        frames.append(item)
    return frames


async def test_replay_since_refuses_what_it_cannot_supply_completely(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(bot_link.redis_client(), keys)
    for seq in range(1, 6):
        await publisher.publish(price(seq), snapshot=status_at(seq))
    relay = BotFeed(keys=keys)
    replay = await relay.replay_since(2)
    assert replay is not None and [f.seq for f in replay] == [3, 4, 5]
    assert await relay.replay_since(5) == []  # up to date
    assert await relay.replay_since(9) is None  # ahead of Redis: Redis lost its data
    await bot_link.redis_client().xdel(keys.events_stream, "1-0", "2-0")  # trimmed
    assert await relay.replay_since(0) is None
    await bot_link.redis_client().xdel(keys.events_stream, "4-0")  # a hole
    assert await relay.replay_since(2) is None


async def test_resync_brings_a_trailing_snapshot_up_to_date(redis_url: str, redis_prefix: str, settings: Any) -> None:
    settings.REDIS_URL = redis_url
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(bot_link.redis_client(), keys)
    relay = BotFeed(keys=keys)
    assert await relay.resync() == []  # the bot never published
    await publisher.publish(price(1), snapshot=status_at(1))
    for seq in (2, 3, 4):  # the bot writes its snapshot a few times a second, not every event
        await publisher.publish(price(seq))
    frames = await relay.resync()
    assert [(f.seq, f.is_status) for f in frames] == [(1, True), (2, False), (3, False), (4, False)]
    await publisher.publish(price(5), snapshot=status_at(5))
    assert [(f.seq, f.is_status) for f in await relay.resync()] == [(5, True)]


def test_conflate_keeps_the_newest_price_per_symbol_in_seq_order() -> None:
    def p(seq: int, symbol: str) -> Frame:
        return Frame(raw="", seq=seq, supersedes=("price_update", symbol))

    trade = Frame(raw="", seq=11)
    batch = [p(10, "BTCUSDT"), trade, p(12, "BTCUSDT"), p(13, "ETHUSDT"), p(14, "BTCUSDT")]
    kept = conflate(batch)
    assert [f.seq for f in kept] == [11, 13, 14]  # the trade is never dropped; order kept
    assert conflate([trade]) == [trade]


async def test_a_hole_in_live_seqs_is_filled_from_the_stream(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    relay, sub, _publisher = await published_relay(redis_url, redis_prefix, 4)
    relay.last_seq = 1
    await relay.on_live(Frame.of(price(4), "p4"), price(4))  # 2 and 3 never arrived over pub/sub
    assert [f.seq for f in drain(sub)] == [2, 3, 4, 4]  # filled in order; sockets drop the repeat
    assert relay.last_seq == 4


async def test_a_live_event_ahead_of_the_bots_stored_seq_is_dropped_not_forwarded(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    """A forged event with a huge seq on the channel (an attack run froze every page this way):
    the relay drops it, and the real events after it still reach the sockets."""
    settings.REDIS_URL = redis_url
    relay, sub, publisher = await published_relay(redis_url, redis_prefix, 4)
    relay.last_seq = 4
    await relay.on_live(Frame.of(price(2**53 - 1), "forged"), price(2**53 - 1))
    assert drain(sub) == [] and relay.last_seq == 4 and relay.refused == 1
    await publisher.publish(price(5), snapshot=status_at(5))
    await relay.on_live(Frame.of(price(5), "p5"), price(5))
    assert [f.seq for f in drain(sub)] == [5]


def event_frame(seq: int, size: int = 10) -> Frame:
    return Frame(raw="x" * size, seq=seq)


def test_recent_keeps_a_consecutive_window_and_replays_what_it_covers() -> None:
    recent = Recent()
    for seq in range(1, 6):
        recent.add(event_frame(seq))
    recent.add(event_frame(3))  # a live event a catch-up already brought: ignored
    since = recent.since(2)
    assert since is not None and [f.seq for f in since] == [3, 4, 5]
    assert recent.since(5) == []
    assert recent.since(0) is not None  # the window starts at 1: everything after 0
    assert recent.since(6) is None  # newer than anything seen: Redis decides
    recent.add(event_frame(9))  # a hole: the window starts afresh
    assert recent.since(5) is None
    assert [f.seq for f in recent.since(8) or []] == [9]


def test_recent_starts_afresh_with_another_bot_run_even_if_its_numbering_restarted() -> None:
    relay = BotFeed(keys=RedisKeys(prefix="unused"))
    relay.watch(Subscription(queue=Mailbox(100)))
    run_1, run_2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    relay.forward(Frame(raw="s", seq=10, is_status=True, started_at=run_1))
    for seq in range(11, 20):
        relay.forward(event_frame(seq))
    relay.forward(Frame(raw="s", seq=3, is_status=True, started_at=run_2))  # a new run, numbered from 1 again
    relay.forward(event_frame(4))
    assert [f.seq for f in relay.recent.frames] == [3, 4]
    assert relay.recent.since(12) is None  # the old run's events are never replayed for the new one


def test_recent_is_bounded_by_count_and_size() -> None:
    recent = Recent()
    for seq in range(1, REPLAY_LIMIT + 11):
        recent.add(event_frame(seq))
    assert len(recent.frames) == REPLAY_LIMIT and recent.frames[0].seq == 11
    assert recent.since(5) is None  # trimmed: the stream or a snapshot answers
    recent.clear()
    big = RECENT_CHARS // 3
    for seq in range(1, 5):
        recent.add(event_frame(seq, big))
    assert [f.seq for f in recent.frames] == [2, 3, 4] and recent.chars <= RECENT_CHARS


async def test_sockets_replay_from_the_relays_memory_and_the_catch_up_from_redis(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(bot_link.redis_client(), keys)
    relay = BotFeed(keys=keys)
    relay.watch(Subscription(queue=Mailbox(100)))
    for seq in range(1, 6):
        await publisher.publish(price(seq), snapshot=status_at(seq))
        relay.forward(Frame.of(price(seq), encode_event(price(seq))))
    await bot_link.redis_client().delete(keys.events_stream)  # only the relay's memory has them now
    replay = await relay.replay_since(2)
    assert replay is not None and [f.seq for f in replay] == [3, 4, 5]
    assert await relay.stream_since(2) is None  # the relay's own catch-up never trusts its memory


def test_the_relay_knows_the_run_of_the_last_status_it_forwarded() -> None:
    relay = BotFeed(keys=RedisKeys(prefix="unused"))
    run = datetime(2026, 3, 1, tzinfo=UTC)
    relay.forward(Frame(raw="s", seq=7, is_status=True, started_at=run), event=False)  # a snapshot counts
    relay.forward(event_frame(8))
    assert relay.run == run


async def test_an_idle_relay_sends_heartbeats_with_the_last_seq_and_events_postpone_them(settings: Any) -> None:
    relay = Relay(keys=RedisKeys(prefix="hb-test"), redis_url="redis://unused")
    feed = relay.feed("main")
    assert feed is not None
    sub = Subscription(queue=Mailbox(10))
    feed.watch(sub)
    feed.last_seq = 41
    task = asyncio.create_task(relay._heartbeat())
    try:
        first = await asyncio.wait_for(sub.queue.get(), 5)
        assert isinstance(first, Frame) and first.seq is None
        assert '"type":"heartbeat"' in first.raw and '"last_seq":41' in first.raw
        feed.fan_out(Frame(raw="event", seq=42))  # an event: the silence starts again
        sent_at = time.monotonic()
        assert (await asyncio.wait_for(sub.queue.get(), 5)).raw == "event"  # type: ignore[union-attr]
        second = await asyncio.wait_for(sub.queue.get(), 5)
        assert isinstance(second, Frame) and '"type":"heartbeat"' in second.raw
        assert time.monotonic() - sent_at >= 0.9  # not before a second of silence after the event
    finally:
        await cancel_task(task)


async def cancel_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_forged_event_ahead_of_the_stored_seq_leaves_the_summary_alone(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL = redis_url
    relay, _sub, _publisher = await published_relay(redis_url, redis_prefix, 4)
    relay.last_seq = 4
    relay.observe(status_at(4))
    before = relay.summary
    stopped = status_at(1).data.model_copy(update={"state": BotState.STOPPED})
    forged = status_at(2**53 - 1).model_copy(update={"data": stopped})
    assert not await relay.on_live(Frame.of(forged, encode_event(forged)), forged)
    assert relay.summary == before and relay.summary.state == "running"


async def test_events_a_catch_up_replays_reach_the_summary(redis_url: str, redis_prefix: str, settings: Any) -> None:
    """Missed while the relay was away: the overview must not keep the state from before."""
    settings.REDIS_URL = redis_url
    relay, sub, publisher = await published_relay(redis_url, redis_prefix, 2)
    relay.last_seq = 2
    relay.observe(status_at(2))
    stopped = StatusChangeEvent(seq=3, data=StatusChangeData(state=BotState.STOPPED, previous=BotState.RUNNING))
    await publisher.publish(stopped, snapshot=status_at(3))
    await publisher.publish(price(4))
    await relay.catch_up()
    assert [f.seq for f in drain(sub)] == [3, 4]
    assert relay.summary.state == "stopped" and relay.summary.last_seq == 3  # price 4 has no marks: no change


def test_the_relay_lets_go_of_bots_nobody_lists_or_watches() -> None:
    relay = Relay(keys=RedisKeys(prefix="tidy", bot_id="main"), redis_url="redis://unused")
    relay.listed = ("listed",)
    for bot_id in ("main", "listed", "gone", "watched"):
        relay.feed(bot_id)
    relay.feeds["watched"].watch(Subscription(queue=Mailbox(1)))
    relay._tidy()
    assert set(relay.feeds) == {"main", "listed", "watched"}  # the default bot stays, listed or not
    assert relay.feeds["watched"].recent.max_chars == RECENT_CHARS  # one watched bot: the whole share
