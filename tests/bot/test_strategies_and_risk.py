"""Mean reversion signals, the risk guard (position cap, daily loss halt) and paper slippage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.broker.base import Fill
from bot.broker.paper import PaperBroker
from bot.errors import OrderStatusUnknownError
from bot.strategy import MeanReversionStrategy, build_strategy
from bot_api.events import BotState, Side
from tests.bot.fakes import AlwaysStrategy, ListSink, ScriptedStrategy, engine, settings, tick


def test_mean_reversion_buys_a_dip_and_sells_the_return_to_the_mean() -> None:
    strategy = MeanReversionStrategy(window=5, entry_z=Decimal("1.5"), exit_z=Decimal(0))
    prices = ["100", "101", "100", "101", "100"]
    assert [strategy.on_price("BTCUSDT", Decimal(p), Decimal(0)) for p in prices] == [None] * 5
    buy = strategy.on_price("BTCUSDT", Decimal(95), Decimal(0))  # far below the mean
    assert buy is not None and buy.side is Side.BUY and "z-score" in buy.reason
    assert strategy.on_price("BTCUSDT", Decimal(96), Decimal(1)) is None  # still below: hold
    sell = strategy.on_price("BTCUSDT", Decimal(101), Decimal(1))
    assert sell is not None and sell.side is Side.SELL
    # No sell while flat, no buy while long; a flat window gives nothing.
    flat = MeanReversionStrategy(window=3, entry_z=Decimal(1), exit_z=Decimal(0))
    assert [flat.on_price("ETHUSDT", Decimal(5), Decimal(0)) for _ in range(4)] == [None] * 4
    assert build_strategy(settings(STRATEGY="mean_reversion", MR_WINDOW="7")).window == 7  # type: ignore[attr-defined]


async def test_buys_are_capped_by_max_position_quote() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY, Side.BUY]), sink, ORDER_QUOTE="1000", MAX_POSITION_QUOTE="1500")
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("BTCUSDT", "100"))
    buys = [e.data.qty for e in sink.of_type("trade_executed")]  # type: ignore[union-attr]
    assert buys == [Decimal(10), Decimal(5)]  # the second only up to 1500 in all
    assert eng.portfolio.position_qty("BTCUSDT") * 100 == 1500


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
    assert "MAX_DAILY_LOSS 50" in change.data.reason  # type: ignore[union-attr]
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

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> Fill:
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
