"""Publisher, subscriber and command bus against a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from bot_api.command_bus import CommandBus
from bot_api.commands import BotCommand, StartBot, StopBot
from bot_api.errors import SnapshotRequiredError, StaleSeqError
from bot_api.events import (
    BotState,
    PnlData,
    PriceData,
    PriceUpdateEvent,
    Side,
    StatusData,
    StatusEvent,
    TradeData,
    TradeExecutedEvent,
    encode_event,
    parse_event,
)
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect
from bot_api.subscriber import EventSubscriber, Received, Subscribed


def price(seq: int, value: str = "100") -> PriceUpdateEvent:
    return PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=Decimal(value)))


def trade_event(seq: int) -> TradeExecutedEvent:
    return TradeExecutedEvent(seq=seq, data=TradeData(
        trade_id=f"t{seq}", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), price=Decimal("100"),
        quote_qty=Decimal("1"), fee=Decimal("0.001"), fee_asset="USDT", realized_pnl=Decimal("-0.001"),
        executed_at=datetime.now(UTC),
    ))


def status_event(seq: int) -> StatusEvent:
    zero = Decimal(0)
    return StatusEvent(seq=seq, data=StatusData(
        state=BotState.RUNNING, mode="paper", market_data="sim", strategy="test", quote_asset="USDT",
        symbols=["BTCUSDT"], prices={"BTCUSDT": Decimal("100")}, positions=[],
        pnl=PnlData(realized=zero, unrealized=zero, total=zero), cash=Decimal(1000), equity=Decimal(1000),
        trade_count=0, recent_trades=[], started_at=datetime.now(UTC),
    ))


async def test_subscriber_gets_published_events_and_skips_garbage(
    redis: Redis, redis_url: str, redis_prefix: str
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    subscriber = EventSubscriber(lambda: connect(redis_url, for_pubsub=True), keys)
    stream = subscriber.__aiter__()
    assert isinstance(await anext(stream), Subscribed)
    publisher = EventPublisher(redis, keys)
    await redis.publish(keys.events_channel, b"\xff not utf8")
    await redis.publish(keys.events_channel, "not json")
    await redis.publish(keys.events_channel, '{"v":1,"type":"price_update"}')
    sent = await publisher.publish(price(1, "101.5"))
    item = await asyncio.wait_for(anext(stream), 5)
    assert isinstance(item, Received)
    assert item.raw == sent and item.event == price(1, "101.5").model_copy(update={"ts": item.event.ts})
    assert subscriber.skipped == 3
    await stream.aclose()


async def test_publish_writes_channel_stream_seq_snapshot_and_trade_together(
    redis: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(redis, keys)
    assert await publisher.last_seq() == 0
    for seq in range(1, 3):
        await publisher.publish(price(seq))
    trade = trade_event(3)
    snapshot = status_event(3)
    await publisher.publish(trade, snapshot=snapshot)
    assert await publisher.last_seq() == 3
    entries = await redis.xrange(keys.events_stream)
    assert [e[0] for e in entries] == [b"1-0", b"2-0", b"3-0"]
    assert parse_event(entries[-1][1][b"e"]) == trade
    assert parse_event(await redis.get(keys.status_key)) == snapshot
    trades = await redis.xrange(keys.trades_stream)
    assert [parse_event(e[1][b"e"]) for e in trades] == [trade]


async def test_a_stale_seq_writes_nothing(redis: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(redis, keys)
    await publisher.publish(price(5), snapshot=status_event(5))
    before = {k: await redis.get(k) for k in (keys.seq_key, keys.status_key)}
    for stale in (5, 4):
        with pytest.raises(StaleSeqError) as info:
            await publisher.publish(trade_event(stale), snapshot=status_event(stale))
        assert info.value.stored == 5
    assert {k: await redis.get(k) for k in before} == before
    assert await redis.xlen(keys.events_stream) == 1
    assert await redis.xlen(keys.trades_stream) == 0
    # Only the seq key counts: what the stream holds beyond it was not written by this script.
    await redis.delete(keys.seq_key)
    await publisher.publish(price(5))
    assert await publisher.last_seq() == 5 and await redis.xlen(keys.events_stream) == 1
    await redis.set(keys.seq_key, 10**15)  # a seq Lua would print as 1e+15
    with pytest.raises(StaleSeqError) as big:
        await publisher.publish(price(6))
    assert big.value.stored == 10**15


async def test_junk_in_the_events_stream_never_moves_the_seq(redis: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(redis, keys)
    await publisher.publish(price(1), snapshot=status_event(1))
    other_bot = price(2).model_copy(update={"bot": "other"})
    await redis.xadd(keys.events_stream, {"e": "after the bot's last"}, id="1-1")
    await redis.xadd(keys.events_stream, {"e": "in the way"}, id="2-0")  # exactly the next id
    junk = [{"e": "garbage"}, {"e": encode_event(other_bot)}, {"x": "1"},
            {"e": encode_event(price(10**14))}]  # even an envelope of this bot: not written by the bot
    for fields in junk:  # auto ids (the time in ms): far above every seq
        await redis.xadd(keys.events_stream, fields)  # type: ignore[arg-type]
    await publisher.publish(price(2))
    # Junk added and deleted again leaves the stream's highest id behind: the next XADD copes.
    await redis.xdel(keys.events_stream, await redis.xadd(keys.events_stream, {"e": "gone"}))
    await publisher.publish(price(3))
    assert await publisher.last_seq() == 3
    assert [e[0] for e in await redis.xrange(keys.events_stream)] == [b"1-0", b"2-0", b"3-0"]
    assert [parse_event(e[1][b"e"]).seq for e in await redis.xrange(keys.events_stream)] == [1, 2, 3]


async def test_an_event_redis_cannot_put_in_context_asks_for_a_snapshot(redis: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    publisher = EventPublisher(redis, keys)

    async def send(seq: int, snapshot: StatusEvent | None = None) -> None:
        await publisher.publish_raw(
            encode_event(price(seq)), seq=seq, durable=False, ensure_snapshot=True,
            snapshot=None if snapshot is None else encode_event(snapshot),
        )

    with pytest.raises(SnapshotRequiredError):
        await send(1)  # Redis holds no snapshot at all
    assert await redis.exists(keys.seq_key, keys.events_stream, keys.status_key) == 0  # nothing written
    await send(1, status_event(1))
    await send(2)  # the snapshot it follows is there: no need to send one
    assert [e[0] for e in await redis.xrange(keys.events_stream)] == [b"1-0", b"2-0"]
    with pytest.raises(SnapshotRequiredError):
        await send(5)  # Redis lost 3 and 4: the state behind 5 would be wrong
    await send(5, status_event(5))
    assert parse_event(await redis.get(keys.status_key)).seq == 5
    await publisher.store_snapshot(encode_event(status_event(6)))  # the snapshot alone
    assert parse_event(await redis.get(keys.status_key)).seq == 6
    assert await publisher.last_seq() == 5


async def test_command_bus_delivers_in_order_and_resumes_after_cursor(redis: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    bus = CommandBus(redis, keys)
    cursor = "0"
    for i, kind in enumerate([StopBot, StartBot]):
        await bus.send(BotCommand.create(action=kind(id=f"c{i}"), bot="main", issued_by="t"))
    await redis.xadd(keys.commands_stream, {"c": "garbage"})
    got = await bus.receive(cursor, block_ms=100)
    assert [r.command.action.command if r.command else None for r in got] == ["stop_bot", "start_bot", None]
    assert got[2].error is not None and got[2].error.code == "invalid_command"
    await bus.commit(got[1].entry_id)
    resumed = await bus.receive(await bus.start_cursor(), block_ms=100)
    assert [r.entry_id for r in resumed] == [got[2].entry_id]


async def test_a_fresh_start_cursor_is_a_concrete_id(redis: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    bus = CommandBus(redis, keys)
    assert await bus.start_cursor() == "0-0"
    await bus.send(BotCommand.create(command_id="old", action=StopBot(id="o"), bot="main", issued_by="t"))
    cursor = await bus.start_cursor()
    assert cursor not in {"$", "0-0"}
    # Only what arrives after start is read; "$" in a read loop would lose commands between reads.
    await bus.send(BotCommand.create(command_id="new", action=StartBot(id="n"), bot="main", issued_by="t"))
    got = await bus.receive(cursor, block_ms=100)
    assert [r.command.id for r in got if r.command] == ["new"]
