"""The recorder pool against a real Redis and the test database: every bot's trades stored exactly
once, a bot registering later picked up, a registry outage survived, every thread stopped."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis
from django.db import OperationalError

from bot_api.errors import TransportError
from bot_api.events import Side, TradeData, TradeExecutedEvent
from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import Bot, Trade
from crypto_bot_ui.trades.recorder_pool import RecorderPool
from tests.stack import wait_for

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]

FAST = {"block_ms": 100}


def trade(bot_id: str, seq: int) -> TradeExecutedEvent:
    return TradeExecutedEvent(bot=bot_id, seq=seq, data=TradeData(
        trade_id=uuid.uuid4().hex, symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), price=Decimal(65000),
        quote_qty=Decimal(650), fee=Decimal("0.65"), fee_asset="USDT", realized_pnl=Decimal(0),
        executed_at=datetime.now(UTC),
    ))


def register(raw_redis: redis.Redis, keys: RedisKeys, bot_id: str) -> None:
    """What a running bot does every second: beat, and keep its place in the registry."""
    raw_redis.zadd(keys.bots_registry, {bot_id: int(time.time() * 1000)})
    raw_redis.set(keys.for_bot(bot_id).heartbeat_key, "1", px=5000)


def publish(raw_redis: redis.Redis, keys: RedisKeys, bot_id: str, count: int) -> list[str]:
    events = [trade(bot_id, seq) for seq in range(1, count + 1)]
    for event in events:
        raw_redis.xadd(keys.for_bot(bot_id).trades_stream, {"e": event.model_dump_json()})
    return [event.data.trade_id for event in events]


class Running:
    """A pool in a thread; on exit, stopped, and every thread it started is gone."""

    def __init__(self, pool: RecorderPool) -> None:
        self.pool = pool
        self.stop = threading.Event()
        self.thread = threading.Thread(target=pool.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> RecorderPool:
        self.thread.start()
        return self.pool

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive()


def recorder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("recorder-")]


def stored(bot_id: str) -> list[str] | None:
    """The bot's stored trade ids; None while SQLite's shared test database is locked by a recorder's write."""
    try:
        return sorted(Trade.objects.filter(bot_id=bot_id).values_list("trade_id", flat=True))
    except OperationalError:
        return None


def back_on_the_list(bot_id: str) -> bool:
    try:
        return Bot.objects.get(bot_id=bot_id).retired_at is None
    except OperationalError:
        return False


def test_every_bot_is_recorded_exactly_once_by_processes_sharing_the_groups(
    raw_redis: redis.Redis, keys: RedisKeys, redis_url: str
) -> None:
    register(raw_redis, keys, "alpha")
    register(raw_redis, keys, "beta")
    expected = {"alpha": publish(raw_redis, keys, "alpha", 30), "beta": publish(raw_redis, keys, "beta", 20)}
    # Two recorder processes (two consumer names) on the same bots: one group per bot stream shares the work.
    pools = [RecorderPool(redis_url=redis_url, keys=keys, consumer=name, interval=0.1, recorder_options=FAST)
             for name in ("rec-1", "rec-2")]
    with Running(pools[0]), Running(pools[1]):
        wait_for(lambda: all(p.bots() == ["alpha", "beta", "main"] for p in pools), 10, "a recorder per bot")
        more = {"alpha": publish(raw_redis, keys, "alpha", 5), "beta": publish(raw_redis, keys, "beta", 5)}
        for bot_id in expected:
            expected[bot_id] = sorted(expected[bot_id] + more[bot_id])
        wait_for(lambda: all(stored(b) == ids for b, ids in expected.items()), 15, "both bots' trades")

        def settled() -> bool:
            groups = [raw_redis.xpending(keys.for_bot(b).trades_stream, "recorder")["pending"] for b in expected]
            return groups == [0, 0]

        wait_for(settled, 10, "every entry acknowledged")
    for bot_id, ids in expected.items():
        # Each entry was delivered to one recorder only: no duplicate was even offered to the database.
        assert sum(p.stats()[bot_id].stored for p in pools) == len(ids)
        assert sum(p.stats()[bot_id].duplicates + p.stats()[bot_id].dead for p in pools) == 0
    assert set(Bot.objects.values_list("bot_id", flat=True)) == {"alpha", "beta"}  # noted as seen
    assert recorder_threads() == []


def test_a_bot_registering_later_is_recorded_and_a_retired_one_comes_back(
    raw_redis: redis.Redis, keys: RedisKeys, redis_url: str
) -> None:
    Bot.objects.create(bot_id="late", retired_at=datetime(2026, 1, 1, tzinfo=UTC))  # retired before
    pool = RecorderPool(redis_url=redis_url, keys=keys, consumer="rec", interval=0.1, recorder_options=FAST)
    with Running(pool):
        wait_for(lambda: pool.bots() == ["main"], 10, "the default bot, listed or not")
        register(raw_redis, keys, "late")
        ids = publish(raw_redis, keys, "late", 3)
        wait_for(lambda: stored("late") == sorted(ids), 10, "the late bot's trades")
        assert pool.bots() == ["late", "main"]
        wait_for(lambda: back_on_the_list("late"), 5, "back on the list")
        raw_redis.zrem(keys.bots_registry, "late")  # retired again (admin): its recorder stops
        wait_for(lambda: [t.name for t in recorder_threads()] == ["recorder-main"], 10,
                 "the retired bot's recorder stopped")
        assert pool.bots() == ["main"]
    assert recorder_threads() == []


def test_a_registry_outage_keeps_the_recorders_going(
    raw_redis: redis.Redis, keys: RedisKeys, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crypto_bot_ui.trades import recorder_pool

    real = recorder_pool.discover_blocking
    down = threading.Event()

    def flaky(*args: object) -> object:
        if down.is_set():
            raise TransportError("listing bots: Connection refused")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(recorder_pool, "discover_blocking", flaky)
    register(raw_redis, keys, "alpha")
    pool = RecorderPool(redis_url=redis_url, keys=keys, consumer="rec", interval=0.05, recorder_options=FAST)
    with Running(pool):
        wait_for(lambda: pool.bots() == ["alpha", "main"], 10, "a recorder per bot")
        down.set()
        time.sleep(0.3)  # several failed discoveries
        ids = publish(raw_redis, keys, "alpha", 4)
        wait_for(lambda: stored("alpha") == sorted(ids), 10, "recorded through the outage")
        assert pool.bots() == ["alpha", "main"]
        register(raw_redis, keys, "beta")
        down.clear()
        wait_for(lambda: pool.bots() == ["alpha", "beta", "main"], 10, "discovery again")


def test_the_number_of_bots_recorded_is_capped(raw_redis: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    for n in range(5):
        register(raw_redis, keys, f"bot{n}")
        time.sleep(0.002)  # distinct scores: the most recently seen are kept
    pool = RecorderPool(redis_url=redis_url, keys=keys, consumer="rec", interval=0.1, max_bots=3,
                        recorder_options=FAST)
    with Running(pool):
        wait_for(lambda: pool.bots() == ["bot3", "bot4", "main"], 10, "the default bot and the two most recent")
    assert recorder_threads() == []


def test_stop_ends_every_thread_promptly(raw_redis: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    for bot_id in ("a", "b", "c"):
        register(raw_redis, keys, bot_id)
    pool = RecorderPool(redis_url=redis_url, keys=keys, consumer="rec", interval=0.1, recorder_options=FAST)
    running = Running(pool)
    with running:
        wait_for(lambda: len(recorder_threads()) == 4, 10, "four recorders")
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert recorder_threads() == [] and not running.thread.is_alive()
