"""The risk guard (position cap, daily loss halt), the halts on unsafe fills, and paper slippage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot import risk as risk_module
from bot.broker.base import Fill
from bot.broker.paper import PaperBroker
from bot.errors import BotError, OrderStatusUnknownError
from bot.risk import RiskGuard
from bot_api.events import BotState, Side
from tests.bot.fakes import AlwaysStrategy, ListSink, ScriptedStrategy, engine, tick, trade_data


async def test_buys_are_capped_by_max_position_quote() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY, Side.BUY]), sink, ORDER_QUOTE="1000", MAX_POSITION_QUOTE="1500")
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("BTCUSDT", "100"))
    buys = [e.data.qty for e in sink.of_type("trade_executed")]  # type: ignore[union-attr]
    assert buys == [Decimal(10), Decimal(5)]  # the second only up to 1500 in all
    assert eng.portfolio.position_qty("BTCUSDT") * 100 == 1500
    await eng.on_tick(tick("BTCUSDT", "100"))  # the script is done: no signal, nothing to say
    eng.strategy = ScriptedStrategy([Side.BUY, Side.BUY])
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("BTCUSDT", "101"))  # the same cause again: told once
    assert [e.data.reason for e in sink.of_type("order_skipped")] == [  # type: ignore[union-attr]
        "the position is at MAX_POSITION_QUOTE (1500)"]


async def test_the_daily_loss_limit_stops_trading_and_says_why() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink, ORDER_QUOTE="1000", MAX_DAILY_LOSS="50", FEE_RATE="0")
    await eng.on_tick(tick("BTCUSDT", "100"))  # buys 10
    assert eng.state is BotState.RUNNING
    await eng.on_tick(tick("BTCUSDT", "96"))  # unrealised -40: sells (always strategy) at a 40 loss
    assert eng.state is BotState.RUNNING
    await eng.on_tick(tick("BTCUSDT", "100"))  # buys again
    await eng.on_tick(tick("BTCUSDT", "98.9"))  # -40 realised today, -11 unrealised: limit reached
    assert eng.state is BotState.STOPPED
    change = sink.of_type("status_change")[-1]
    assert "limit 50.00 (MAX_DAILY_LOSS)" in change.data.reason  # type: ignore[union-attr]
    trades = len(sink.of_type("trade_executed"))
    await eng.on_tick(tick("BTCUSDT", "90"))
    assert len(sink.of_type("trade_executed")) == trades  # nothing more
    risk = eng.snapshot().data.risk
    assert risk is not None and risk.daily_pnl == Decimal(-140) and risk.max_daily_loss == 50


def test_paper_slippage_moves_the_price_against_the_order() -> None:
    broker = PaperBroker(Decimal(0), "USDT", slippage_bps=Decimal(10))
    assert broker.fill_price(Side.BUY, Decimal(1000)) == Decimal(1001)
    assert broker.fill_price(Side.SELL, Decimal(1000)) == Decimal(999)


class UnknownOutcomeBroker(PaperBroker):
    """An exchange that took the order and then lost every answer."""

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        raise OrderStatusUnknownError("order cb-1 on BTCUSDT: outcome unknown")


async def test_an_order_with_an_unknown_outcome_stops_trading() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink)
    eng.broker = UnknownOutcomeBroker(Decimal(0), "USDT")
    with pytest.raises(OrderStatusUnknownError):
        await eng.on_tick(tick("BTCUSDT", "100"))
    assert eng.state is BotState.STOPPED and "outcome unknown" in (eng.reason or "")
    await eng.on_tick(tick("BTCUSDT", "101"))  # no further order while stopped
    assert sink.of_type("trade_executed") == []


class MovedBookBroker(PaperBroker):
    """A market whose buys fill 2 % above the last price (the book moved before the order)."""

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        return await super().market_order(symbol, side, qty, price * Decimal("1.02"))


async def test_a_buy_is_sized_with_room_and_an_executed_fill_is_always_booked() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink, STARTING_CASH="1004", ORDER_QUOTE="1000", FEE_RATE="0")
    await eng.on_tick(tick("BTCUSDT", "100"))
    assert sink.of_type("trade_executed") == []  # 1000 plus the 0.5 % margin is more than 1004
    eng = engine(AlwaysStrategy(), sink, STARTING_CASH="1010", ORDER_QUOTE="1000", FEE_RATE="0")
    eng.broker = MovedBookBroker(Decimal(0), "USDT")
    await eng.on_tick(tick("BTCUSDT", "100"))  # fills at 102: 1020 > 1010 in cash, but it happened
    assert eng.portfolio.position_qty("BTCUSDT") == 10 and eng.portfolio.cash == Decimal(-10)
    assert eng.snapshot().data.pnl.total == Decimal(-20)  # marked at 100


class OversellingBroker(PaperBroker):
    """An exchange that sold more than the books hold (the books and the account disagree)."""

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        return await super().market_order(symbol, side, qty * 2, price)


async def test_a_fill_the_books_cannot_hold_stops_trading() -> None:
    sink = ListSink()
    eng = engine(AlwaysStrategy(), sink, ORDER_QUOTE="1000")
    await eng.on_tick(tick("BTCUSDT", "100"))  # buys 10
    eng.broker = OversellingBroker(Decimal(0), "USDT")
    with pytest.raises(BotError):
        await eng.on_tick(tick("BTCUSDT", "101"))
    assert eng.state is BotState.STOPPED and "check the exchange" in (eng.reason or "")
    assert eng.portfolio.position_qty("BTCUSDT") == 10


def test_the_daily_loss_counts_from_the_equity_the_day_opened_with(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = RiskGuard(max_position_quote=None, max_daily_loss=Decimal(50))
    guard.open_day(Decimal(1000), date(2026, 11, 19))
    monkeypatch.setattr(risk_module, "utcnow", lambda: datetime(2026, 11, 20, 0, 1, tzinfo=UTC))
    # Yesterday's position is 100 under water at midnight: a loss of yesterday, not of today.
    assert guard.breach(Decimal(900)) is None and guard.daily_pnl(Decimal(900)) == 0
    assert guard.breach(Decimal(860)) is None  # 40 lost today
    assert guard.breach(Decimal(850)) == "daily loss limit reached: lost 50.00 today, limit 50.00 (MAX_DAILY_LOSS)"


def test_after_a_restart_the_day_opens_before_todays_first_trade() -> None:
    eng = engine(AlwaysStrategy(), ListSink(), FEE_RATE="0", MAX_DAILY_LOSS="50")
    now = datetime.now(UTC)
    ledger = [trade_data("t1", Side.BUY, "10", "100", now - timedelta(days=1)),
              trade_data("t2", Side.SELL, "5", "90", now), trade_data("t3", Side.SELL, "5", "95", now)]
    eng.restore(ledger, BotState.RUNNING)
    # Bought yesterday, and no mark from midnight is kept: the day opens with it at cost (equity
    # 10 000), so today's two sales count their whole loss, 50 + 25.
    assert eng.risk.daily_pnl(eng.portfolio.equity({})) == Decimal(-75)
