"""The outbox against a real Redis: journal first, publish in order, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.journal import Journal
from bot.outbox import Outbox
from bot_api.errors import TransportError
from bot_api.events import parse_event
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from tests.bot.fakes import AlwaysStrategy, ListSink, ScriptedStrategy, engine, tick


class SwitchablePublisher(EventPublisher):
    """The real publisher, but it can be told Redis is down."""

    down = False

    async def publish_raw(self, payload: str, **kwargs: object) -> None:  # type: ignore[override]
        if self.down:
            raise TransportError("connection refused")
        await super().publish_raw(payload, **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def flushing(outbox: Outbox) -> AsyncIterator[None]:
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stream_seqs(redis: Redis, keys: RedisKeys) -> list[int]:
    return [int(entry_id.split(b"-")[0]) for entry_id, _ in await redis.xrange(keys.events_stream)]


async def until(predicate: object, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_an_outage_delays_events_but_loses_none(redis: Redis, redis_prefix: str, tmp_path: Path) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    journal = Journal(tmp_path / "j.sqlite3")
    publisher = SwitchablePublisher(redis, keys)
    eng = engine(AlwaysStrategy(), ListSink())
    outbox = Outbox(journal, publisher, eng, continue_above=eng.set_seq)
    eng.sink = outbox
    async with flushing(outbox):
        await eng.on_tick(tick("BTCUSDT", "100"))  # price, trade, status
        await until(lambda: outbox.pending() == 0)
        publisher.down = True
        for price in ("101", "102", "103"):
            await eng.on_tick(tick("BTCUSDT", price))  # trading goes on; nothing reaches Redis
        assert outbox.pending() == 9  # each tick: price, trade, status
        assert await stream_seqs(redis, keys) == [1, 2, 3]
        publisher.down = False
        await until(lambda: outbox.pending() == 0)
    assert await stream_seqs(redis, keys) == list(range(1, 13))  # original seqs, in order
    snapshot = parse_event(await redis.get(keys.status_key))
    assert snapshot.seq == 12  # the last event is a status: the bot's latest state
    assert journal.trade_ids() == [t.trade_id for t in reversed(eng.recent_trades)]
    assert await redis.xlen(keys.trades_stream) == 4


async def test_an_event_published_before_a_crash_is_not_published_again(
    redis: Redis, redis_prefix: str, tmp_path: Path
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    journal = Journal(tmp_path / "j.sqlite3")
    eng = engine(AlwaysStrategy(), ListSink())
    outbox = Outbox(journal, EventPublisher(redis, keys), eng, continue_above=eng.set_seq)
    eng.sink = outbox
    await eng.on_tick(tick("BTCUSDT", "100"))
    rows = journal.pending()
    # The crash: event 1 reached Redis, but the journal never heard back.
    await EventPublisher(redis, keys).publish_raw(rows[0].payload, seq=1, durable=False, snapshot=None)
    async with flushing(outbox):
        await until(lambda: outbox.pending() == 0)
    assert await stream_seqs(redis, keys) == [1, 2, 3]
    assert await redis.xlen(keys.trades_stream) == 1


async def test_redis_ahead_of_the_journal_moves_pending_events_above_it(
    redis: Redis, redis_prefix: str, tmp_path: Path
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    await redis.set(keys.seq_key, 100)  # another writer got there first
    journal = Journal(tmp_path / "j.sqlite3")
    eng = engine(AlwaysStrategy(), ListSink())

    def continue_above(seq: int) -> None:
        journal.advance_seq(seq)
        eng.set_seq(max(seq, eng.seq))

    outbox = Outbox(journal, EventPublisher(redis, keys), eng, continue_above=continue_above)
    eng.sink = outbox
    async with flushing(outbox):
        await eng.on_tick(tick("BTCUSDT", "100"))
        first = eng.seq
        await until(lambda: outbox.pending() == 0)
        assert eng.seq == journal.last_seq() == 100 + first  # renumbered above 100, none dropped
        await eng.on_tick(tick("BTCUSDT", "101"))
        await until(lambda: outbox.pending() == 0)
    seqs = await stream_seqs(redis, keys)
    assert seqs == list(range(101, eng.seq + 1))
    trades = [parse_event(fields[b"e"]) for _id, fields in await redis.xrange(keys.trades_stream)]
    assert [t.seq for t in trades if t.type == "trade_executed"] == [seq for seq, _t in journal.unrecorded_trades()]
    assert len(journal.ledger()) == 2  # both ticks' trades, the first one renumbered


class CountingPublisher(EventPublisher):
    """The real publisher, counting the snapshots it writes."""

    snapshots = 0

    async def publish_raw(self, payload: str, **kwargs: object) -> None:  # type: ignore[override]
        await super().publish_raw(payload, **kwargs)  # type: ignore[arg-type]
        self.snapshots += kwargs.get("snapshot") is not None

    async def store_snapshot(self, snapshot: str) -> None:
        await super().store_snapshot(snapshot)
        self.snapshots += 1


async def test_the_snapshot_is_written_a_few_times_a_second_and_when_events_pause(
    redis: Redis, redis_prefix: str, tmp_path: Path
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    journal = Journal(tmp_path / "j.sqlite3")
    publisher = CountingPublisher(redis, keys)
    eng = engine(ScriptedStrategy([]), ListSink())  # prices only, no trades
    outbox = Outbox(journal, publisher, eng, continue_above=eng.set_seq)
    eng.sink = outbox
    async with flushing(outbox):
        await eng.publish_status()
        for i in range(300):
            await eng.on_tick(tick("BTCUSDT", str(100 + i)))
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the flusher publish part of them meanwhile
        await until(lambda: outbox.pending() == 0)

        async def snapshot_seq() -> int:
            return parse_event(await redis.get(keys.status_key)).seq  # type: ignore[return-value]

        # Events paused: the latest state follows within the snapshot interval, alone.
        async with asyncio.timeout(5):
            while await snapshot_seq() != eng.seq:
                await asyncio.sleep(0.02)
    assert eng.seq == 301 and await stream_seqs(redis, keys) == list(range(1, 302))
    status = parse_event(await redis.get(keys.status_key))
    assert status.data.prices == {"BTCUSDT": Decimal(399)}  # type: ignore[union-attr]
    assert 2 <= publisher.snapshots <= 10, publisher.snapshots  # not one per event


async def test_after_redis_lost_its_data_the_next_event_brings_the_snapshot(
    redis: Redis, redis_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.outbox.SNAPSHOT_INTERVAL", 3600)  # no timed writes: only the rule
    keys = RedisKeys(prefix=redis_prefix)
    journal = Journal(tmp_path / "j.sqlite3")
    eng = engine(ScriptedStrategy([]), ListSink())
    outbox = Outbox(journal, EventPublisher(redis, keys), eng, continue_above=eng.set_seq)
    eng.sink = outbox
    async with flushing(outbox):
        await eng.publish_status()
        await eng.on_tick(tick("BTCUSDT", "100"))
        await until(lambda: outbox.pending() == 0)
        await redis.delete(keys.events_stream, keys.seq_key, keys.status_key)  # a restart without persistence
        await eng.on_tick(tick("BTCUSDT", "101"))  # seq 3: Redis cannot tell the state behind it
        await until(lambda: outbox.pending() == 0)
        async with redis.pipeline(transaction=True) as pipe:
            status, seqs = await pipe.get(keys.status_key).xrange(keys.events_stream).execute()
    assert [int(entry_id.split(b"-")[0]) for entry_id, _ in seqs] == [3]
    snapshot = parse_event(status)
    assert snapshot.seq == 3 and snapshot.data.prices == {"BTCUSDT": Decimal(101)}  # type: ignore[union-attr]
