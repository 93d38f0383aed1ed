"""TradingEngine: seq discipline, snapshots, trading, stop/start and commands."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.broker.paper import PaperBroker
from bot.engine import RECENT_TRADES, TradingEngine
from bot_api.commands import (
    BOT_ACTIONS,
    BotAction,
    BotCommand,
    ClosePosition,
    RequestStatus,
    StartBot,
    StopBot,
)
from bot_api.events import (
    BotControlEvent,
    BotState,
    OrderSkippedData,
    PortfolioEvent,
    Side,
    StatsData,
    StatusChangeEvent,
    StatusEvent,
    TradeExecutedEvent,
    encode_event,
    parse_event,
)
from tests.bot.fakes import AlwaysStrategy, ListSink, ScriptedStrategy, engine, settings, tick


def command(kind: type[BotAction], *, bot: str = "main", ttl: float = 10, cid: str = "c1") -> BotCommand:
    return BotCommand.create(
        action=kind(id=cid), command_id=cid, bot=bot, issued_by="alice", ttl=timedelta(seconds=ttl)
    )


async def exercise(eng: TradingEngine) -> None:
    """A mix of every kind of emission."""
    await eng.publish_status()
    for i in range(6):
        await eng.on_tick(tick("BTCUSDT", Decimal(60000 + i)))
        await eng.on_tick(tick("ETHUSDT", Decimal(3000 + i)))
    await eng.handle_command(command(StopBot, cid="s"))
    await eng.on_tick(tick("BTCUSDT", "61000"))
    await eng.handle_command(command(RequestStatus, cid="r"))
    await eng.handle_command(command(StartBot, cid="g"))
    await eng.handle_command(command(StartBot, cid="e", ttl=-1))
    await eng.on_tick(tick("BTCUSDT", "61001"))


async def test_seq_increases_by_one_and_snapshot_matches_every_event() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    await exercise(eng)
    seqs = [event.seq for event in sink.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert {e.type for e in sink.events} == {
        "status", "price_update", "trade_executed", "portfolio", "status_change", "bot_control",
    }  # fmt: skip
    for event, snapshot in sink.emitted:
        assert snapshot.seq == event.seq
        assert snapshot.bot == event.bot == "main"
    assert eng.seq == seqs[-1]


async def test_every_event_round_trips_through_the_contract() -> None:
    sink = ListSink()
    await exercise(engine(AlwaysStrategy(), sink, BOT_ID="b-7"))
    for event, snapshot in sink.emitted:
        for item in (event, snapshot):
            assert parse_event(encode_event(item)) == item
            assert item.bot == "b-7"


async def test_seq_continues_from_initial_and_set_seq() -> None:
    sink = ListSink()
    s = settings()
    eng = TradingEngine(s, AlwaysStrategy(), PaperBroker(s.fee_rate, "USDT"), sink, initial_seq=41)
    sink.engine = eng
    assert eng.snapshot().seq == 41
    await eng.publish_status()
    assert sink.events[-1].seq == 42
    eng.set_seq(100)
    await eng.on_tick(tick("BTCUSDT", "1"))
    assert [(e.type, e.seq) for e in sink.events[-3:]] == [
        ("price_update", 101), ("trade_executed", 102), ("portfolio", 103)
    ]
    with pytest.raises(ValueError, match="seq"):
        eng.set_seq(-1)


async def test_snapshot_before_any_event_has_no_seq() -> None:
    eng = engine(AlwaysStrategy(), ListSink(), AUTO_START="false")
    snap = eng.snapshot()
    assert snap.seq is None
    assert snap.data.state is BotState.STOPPED
    assert snap.data.reason == "waiting for an operator to start it (AUTO_START is off)"


async def test_trade_sizing_and_content() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY, None, Side.SELL]), sink)
    await eng.on_tick(tick("BTCUSDT", "65000.00"))
    buy = sink.of_type("trade_executed")[-1]
    assert isinstance(buy, TradeExecutedEvent)
    # 1000 / 65000 = 0.01538461... rounded down to 1e-6.
    assert buy.data.qty == Decimal("0.015384")
    assert buy.data.quote_qty == Decimal("999.96")
    assert buy.data.fee == Decimal("0.99996")
    assert buy.data.realized_pnl == 0  # the entry fee is in the position's cost, realised on the sell
    assert buy.data.reason == "scripted buy"
    assert buy.data.side is Side.BUY
    await eng.on_tick(tick("BTCUSDT", "65500.00"))
    status = sink.emitted[-1][1].data
    [position] = status.positions
    assert position.mark_price == Decimal("65500.00")
    assert position.unrealized_pnl == Decimal("0.015384") * 500 - Decimal("0.99996")  # entry fee counted
    await eng.on_tick(tick("BTCUSDT", "66000.00"))
    sell = sink.of_type("trade_executed")[-1]
    assert sell.data.side is Side.SELL
    assert sell.data.qty == Decimal("0.015384")  # the whole position
    fees = Decimal("0.99996") + Decimal("1.015344")  # entry and exit
    assert sell.data.realized_pnl == Decimal("0.015384") * 1000 - fees
    assert final_stats(sink).closed_trades == 1 and final_stats(sink).wins == 1
    final = sink.emitted[-1][1].data
    assert final.positions == []
    assert final.trade_count == 2
    assert [t.trade_id for t in final.recent_trades] == [sell.data.trade_id, buy.data.trade_id]
    assert final.pnl.total == final.equity - Decimal(10000)
    assert final.cash == final.equity


def final_stats(sink: ListSink) -> StatsData:
    stats = sink.emitted[-1][1].data.stats
    assert stats is not None
    return stats


async def test_status_snapshot_is_complete() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("ETHUSDT", "10"))
    await eng.publish_status()
    status = sink.events[-1]
    assert isinstance(status, StatusEvent)
    data = status.data
    assert data.state is BotState.RUNNING
    assert (data.mode, data.market_data, data.strategy, data.quote_asset) == (
        "paper",
        "sim",
        "always",
        "USDT",
    )
    assert data.symbols == ["BTCUSDT", "ETHUSDT"]
    assert data.prices == {"BTCUSDT": Decimal(100), "ETHUSDT": Decimal(10)}
    assert [p.symbol for p in data.positions] == ["BTCUSDT", "ETHUSDT"]
    assert data.trade_count == 2
    assert data.started_at == eng.started_at
    assert data.cash < 10000


async def test_recent_trades_are_capped_newest_first() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    for i in range(RECENT_TRADES + 7):
        await eng.on_tick(tick("BTCUSDT", Decimal(100 + i)))
    trades = [e.data for e in sink.of_type("trade_executed")]
    recent = eng.snapshot().data.recent_trades
    assert len(trades) == RECENT_TRADES + 7 == eng.trade_count
    assert recent == trades[::-1][:RECENT_TRADES]


async def test_buy_is_skipped_when_cash_does_not_cover_order_and_fee() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink, STARTING_CASH="1000", ORDER_QUOTE="1000")
    await eng.on_tick(tick("BTCUSDT", "100"))  # 10 units = 1000 + 1 fee > 1000
    assert sink.of_type("trade_executed") == []
    assert len(sink.of_type("price_update")) == 1
    (skipped,) = sink.of_type("order_skipped")  # the page says why nothing happened
    assert skipped.data == OrderSkippedData(  # 10 units at up to 0.5 % over 100 (slippage 0 here), and the fee
        symbol="BTCUSDT", side=Side.BUY, reason="not enough cash: 1006.01 needed, 1000.00 free")
    eng = engine(AlwaysStrategy(), sink, ORDER_QUOTE="0.5")
    await eng.on_tick(tick("BTCUSDT", "1000000"))  # 0.0000005 rounds down to 0 units
    assert sink.of_type("trade_executed") == []
    assert sink.of_type("order_skipped")[-1].data.reason == "ORDER_QUOTE buys less than one lot (0.000001) at 1000000"


async def test_stopped_bot_emits_prices_but_does_not_trade() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    await eng.stop("maintenance")
    [change] = sink.of_type("status_change")
    assert isinstance(change, StatusChangeEvent)
    assert change.data.state is BotState.STOPPED
    assert change.data.previous is BotState.RUNNING
    assert change.data.reason == "maintenance"
    for i in range(20):
        await eng.on_tick(tick("ETHUSDT", Decimal(3000 + i)))
    assert len(sink.of_type("price_update")) == 20
    assert sink.of_type("trade_executed") == []
    assert eng.snapshot().data.state is BotState.STOPPED
    await eng.stop("again")  # no change, no event
    assert len(sink.of_type("status_change")) == 1
    await eng.start("back")
    await eng.on_tick(tick("ETHUSDT", "3100"))
    assert len(sink.of_type("trade_executed")) == 1


async def test_stop_and_start_commands() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    result = await eng.handle_command(command(StopBot, cid="stop-1"))
    assert (result.id, result.command, result.ok, result.error) == ("stop-1", "stop_bot", True, None)
    change, control = sink.events
    assert isinstance(change, StatusChangeEvent)
    assert change.data.state is BotState.STOPPED
    assert change.data.reason is not None
    assert "alice" in change.data.reason
    assert isinstance(control, BotControlEvent)
    assert control.data == result
    await eng.on_tick(tick("BTCUSDT", "10"))
    assert sink.of_type("trade_executed") == []

    await eng.handle_command(command(StartBot, cid="start-1"))
    assert eng.state is BotState.RUNNING
    assert "alice" in (eng.snapshot().data.reason or "")
    await eng.on_tick(tick("BTCUSDT", "10"))
    assert len(sink.of_type("trade_executed")) == 1
    assert len(sink.of_type("bot_control")) == 2


async def test_expired_command_is_refused_and_not_executed() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    result = await eng.handle_command(command(StopBot, ttl=-1, cid="late"))
    assert (result.ok, result.error) == (False, "expired")
    assert eng.state is BotState.RUNNING
    [control] = sink.events
    assert isinstance(control, BotControlEvent)
    assert control.data.id == "late"
    assert control.data.ok is False


async def test_command_for_another_bot_is_refused() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    result = await eng.handle_command(command(StopBot, bot="other"))
    assert (result.ok, result.error) == (False, "invalid")
    assert eng.state is BotState.RUNNING
    assert [e.type for e in sink.events] == ["bot_control"]


async def test_request_status_emits_status_then_bot_control() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    await eng.on_tick(tick("BTCUSDT", "10"))
    before = len(sink.events)
    result = await eng.handle_command(command(RequestStatus, cid="rs"))
    status, control = sink.events[before:]
    assert isinstance(status, StatusEvent)
    assert status.seq == before + 1
    assert status.data.trade_count == 1
    assert isinstance(control, BotControlEvent)
    assert control.seq == before + 2
    assert result.ok is True


class YieldingSink(ListSink):
    """Gives other tasks a chance to run inside every emit, like a network round trip."""

    async def emit(self, event):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        await super().emit(event)


async def test_concurrent_ticks_and_commands_emit_in_seq_order() -> None:
    sink = YieldingSink()
    eng = engine(AlwaysStrategy(), sink)

    async def ticks() -> None:
        for i in range(50):
            await eng.on_tick(tick("BTCUSDT", Decimal(100 + i)))

    async def commands() -> None:
        for i in range(20):
            name = StopBot if i % 2 else StartBot
            await eng.handle_command(command(name, cid=f"c{i}"))

    await asyncio.gather(ticks(), commands(), eng.publish_status())
    seqs = [e.seq for e in sink.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert all(snap.seq == event.seq for event, snap in sink.emitted)


async def test_every_trade_is_followed_by_the_account_it_leads_to() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY]), sink)
    await eng.on_tick(tick("BTCUSDT", "65000.00"))
    trade, account = sink.events[-2], sink.events[-1]
    assert isinstance(trade, TradeExecutedEvent) and isinstance(account, PortfolioEvent)
    assert account.seq == trade.seq + 1
    assert account.data.trade_count == 1
    assert account.data.cash == eng.settings.starting_cash - trade.data.quote_qty - trade.data.fee
    assert list(account.data.positions) == ["BTCUSDT"]


async def test_the_account_after_a_fill_is_the_status_at_that_seq() -> None:
    """Every figure a `portfolio` event carries equals the full status as of its seq (a page that
    applies it to its status shows what a fresh page shows), over a seeded run of buys, sells and
    closes on two symbols."""
    rng = random.Random(19)
    sink = ListSink()
    eng = engine(ScriptedStrategy([rng.choice([Side.BUY, Side.SELL, None]) for _ in range(400)]), sink)
    for i in range(200):
        await eng.on_tick(tick(rng.choice(["BTCUSDT", "ETHUSDT"]), Decimal(60000 + rng.randint(-3000, 3000))))
        if i % 50 == 49:
            close = ClosePosition(id=f"x{i}", symbol="BTCUSDT")
            await eng.handle_command(BotCommand.create(action=close, command_id=f"x{i}", bot="main", issued_by="alice",
                                                       ttl=timedelta(seconds=10)))
    checked = closed = 0
    for event, snapshot in sink.emitted:
        if not isinstance(event, PortfolioEvent):
            continue
        checked += 1
        status, data = snapshot.data, event.data
        assert snapshot.seq == event.seq
        held = {p.symbol: p for p in status.positions}
        for symbol, position in data.positions.items():
            assert position == held.get(symbol)
            closed += position is None
        assert (data.pnl, data.cash, data.equity, data.trade_count, data.stats, data.risk, data.marks) == (
            status.pnl, status.cash, status.equity, status.trade_count, status.stats, status.risk, status.marks)
    assert checked > 20 and closed > 3


async def test_equity_point_matches_the_portfolio() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY]), sink)
    await eng.on_tick(tick("BTCUSDT", "65000.00"))
    await eng.record_equity()
    point = sink.events[-1]
    assert point.type == "equity_snapshot" and point.seq == eng.seq
    status = eng.snapshot().data
    assert (point.data.equity, point.data.cash, point.data.pnl) == (status.equity, status.cash, status.pnl)
    assert point.data.pnl.total == point.data.equity - eng.settings.starting_cash


def test_the_engine_has_a_handler_for_every_command_the_contract_sends_it() -> None:
    eng = engine(ScriptedStrategy([]), ListSink())
    assert set(eng._handlers) == set(BOT_ACTIONS)
