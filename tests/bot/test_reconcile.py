"""After Redis loses its data, trades the recorder had not stored are sent to it again."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis

from bot.journal import Journal
from bot.reconcile import reconcile
from bot_api.events import Side, TradeData, TradeExecutedEvent, parse_event
from bot_api.keys import EVENT_FIELD, RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect
from scripts import embedded_redis


def trade(trade_id: str) -> TradeData:
    return TradeData(
        trade_id=trade_id, symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), price=Decimal("100"),
        quote_qty=Decimal("1"), fee=Decimal("0.001"), fee_asset="USDT", realized_pnl=Decimal("-0.001"),
        executed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_only_unrecorded_trades_are_sent_again_and_only_once(
    redis: Redis, redis_prefix: str, tmp_path: Path
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(redis, keys)
    journal = Journal(tmp_path / "j.sqlite3")
    for seq, trade_id in ((2, "a"), (5, "b"), (8, "c")):
        journal.append(seq=seq, type_="trade_executed", payload="{}", trade=trade(trade_id))
    journal.published(9)
    assert await reconcile(publisher, journal) == 0  # first contact: Redis gets the mark
    await redis.set(keys.recorded_seq_key, 5)  # the recorder stored a and b
    assert await reconcile(publisher, journal) == 0  # Redis intact: nothing to do
    assert journal.recorded_seq() == 5

    await redis.delete(keys.journal_mark_key, keys.recorded_seq_key, keys.trades_stream)  # wiped
    await redis.set(keys.recorded_seq_key, 99)  # even a watermark raised after the loss...
    assert await reconcile(publisher, journal) == 1  # ...does not hide the lost trade
    entries = await redis.xrange(keys.trades_stream)
    resent = [parse_event(fields[EVENT_FIELD.encode()]) for _, fields in entries]
    assert [(e.seq, e.data.trade_id) for e in resent if isinstance(e, TradeExecutedEvent)] == [(8, "c")]
    assert await reconcile(publisher, journal) == 0  # not again: the mark is back


async def test_a_promoted_replica_missing_the_newest_trades_gets_them_again(
    redis: Redis, redis_prefix: str, tmp_path: Path
) -> None:
    # A failover: the bot's connection lands on another server, which holds the mark (replicated
    # long ago) but not the newest trade. Two real servers stand for the old master and the replica.
    keys = RedisKeys(prefix=redis_prefix)
    journal = Journal(tmp_path / "j.sqlite3")
    for seq, trade_id in ((2, "a"), (5, "b"), (8, "c")):
        journal.append(seq=seq, type_="trade_executed", payload="{}", trade=trade(trade_id))
    journal.published(9)
    old = EventPublisher(redis, keys)
    assert await reconcile(old, journal) == 0
    await redis.set(keys.recorded_seq_key, 5)
    assert await reconcile(old, journal) == 0  # the same server: nothing to send

    server = embedded_redis.start(tmp_path / "replica", persist=False)
    replica = connect(server.url)
    try:
        await replica.set(keys.journal_mark_key, journal.journal_id)  # what replication brought
        await replica.set(keys.recorded_seq_key, 9)  # raised since by a recorder: must not hide "c"
        promoted = EventPublisher(replica, keys)
        assert await reconcile(promoted, journal) == 1
        entries = await replica.xrange(keys.trades_stream)
        resent = [parse_event(fields[EVENT_FIELD.encode()]) for _, fields in entries]
        assert [(e.seq, e.data.trade_id) for e in resent if isinstance(e, TradeExecutedEvent)] == [(8, "c")]
        assert journal.recorded_seq() == 9
        assert await reconcile(promoted, journal) == 0  # once per server change
    finally:
        await replica.aclose()
        server.stop()
        journal.close()
