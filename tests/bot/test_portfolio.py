"""Portfolio: hand-checked P&L and the exact invariant total == equity - starting_cash."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.broker.base import Fill
from bot.broker.paper import fee_for
from bot.errors import BotError, InsufficientPositionError, OrderError
from bot.portfolio import Portfolio
from bot_api.events import Side
from tests.bot.fakes import T0, ListSink, ScriptedStrategy, engine, tick

RATE = Decimal("0.001")


def fill(side: Side, qty: str | Decimal, price: str | Decimal, symbol: str = "BTCUSDT") -> Fill:
    q, p = Decimal(qty), Decimal(price)
    return Fill(
        trade_id=uuid.uuid4().hex,
        order_id="paper-x",
        symbol=symbol,
        side=side,
        qty=q,
        price=p,
        quote_qty=q * p,
        fee=fee_for(q * p, RATE),
        fee_asset="USDT",
        executed_at=T0,
    )


def test_hand_computed_example() -> None:
    pf = Portfolio(Decimal(10000), "USDT")
    # Entry fees go into the cost: a buy realises nothing.
    assert pf.apply(fill(Side.BUY, "0.5", "100")) == 0  # cost 50 + fee 0.05
    assert pf.apply(fill(Side.BUY, "0.5", "120")) == 0  # cost 60 + fee 0.06
    assert pf.cash == Decimal("9889.89")
    position = pf.positions["BTCUSDT"]
    assert (position.qty, position.avg_entry) == (Decimal(1), Decimal("110.11"))
    assert pf.unrealized({"BTCUSDT": Decimal(130)}) == Decimal("19.89")

    # Sell 0.4 @ 130: proceeds 52 - fee 0.052, cost of the part sold 0.4 * 110.11 = 44.044.
    assert pf.apply(fill(Side.SELL, "0.4", "130")) == Decimal("7.904")
    assert pf.cash == Decimal("9941.838")
    assert pf.realized == Decimal("7.904")
    position = pf.positions["BTCUSDT"]
    assert (position.qty, position.avg_entry) == (Decimal("0.6"), Decimal("110.11"))

    marks = {"BTCUSDT": Decimal(125)}
    assert pf.unrealized(marks) == Decimal("8.934")
    assert pf.equity(marks) == Decimal("10016.838")
    pnl = pf.pnl(marks)
    assert (pnl.realized, pnl.unrealized, pnl.total) == (Decimal("7.904"), Decimal("8.934"), Decimal("16.838"))
    assert pnl.total == pf.equity(marks) - pf.starting_cash

    # Closing the rest removes the position; realized = 0.6 * 125 - 0.075 - 66.066.
    assert pf.apply(fill(Side.SELL, "0.6", "125")) == Decimal("8.859")
    assert pf.positions == {}
    assert pf.position_qty("BTCUSDT") == 0
    assert pf.unrealized(marks) == 0
    assert pf.cash == pf.equity({}) == Decimal("10016.763")
    assert pf.realized == Decimal("16.763")
    stats = pf.stats.data()
    assert (stats.closed_trades, stats.wins, stats.win_rate, stats.fees) == (2, 2, 1, Decimal("0.237"))
    assert stats.expectancy == Decimal("8.3815") and stats.profit_factor is None  # no loss yet


def test_fees_in_the_base_asset_and_in_bnb() -> None:
    pf = Portfolio(Decimal(1000), "USDT")
    base_fee = Fill(trade_id="a", order_id="o", symbol="BTCUSDT", side=Side.BUY, qty=Decimal(1), price=Decimal(100),
                    quote_qty=Decimal(100), fee=Decimal("0.001"), fee_asset="BTC", executed_at=T0)
    assert pf.apply(base_fee) == 0
    assert pf.position_qty("BTCUSDT") == Decimal("0.999")  # Binance takes a buy's fee from what it bought
    assert pf.cash == 900
    bnb_fee = Fill(trade_id="b", order_id="o", symbol="BTCUSDT", side=Side.SELL, qty=Decimal("0.999"),
                   price=Decimal(110), quote_qty=Decimal("109.89"), fee=Decimal("0.0002"), fee_asset="BNB",
                   executed_at=T0, fee_quote=Decimal("0.08"))
    assert pf.apply(bnb_fee) == Decimal("109.81") - 100  # the BNB fee booked at its USDT value
    assert pf.cash == pf.equity({}) == Decimal("1009.81")
    assert pf.stats.data().fees == Decimal("0.18")  # 0.001 BTC at 100 + 0.08
    without_value = Fill(trade_id="c", order_id="o", symbol="BTCUSDT", side=Side.BUY, qty=Decimal(1),
                         price=Decimal(1), quote_qty=Decimal(1), fee=Decimal(1), fee_asset="BNB", executed_at=T0)
    with pytest.raises(OrderError):
        pf.apply(without_value)


def test_the_contracts_fee_value_is_the_one_the_books_take() -> None:
    """TradeData.fee_in_quote (what the records and analytics sum) equals what the portfolio booked."""
    pf = Portfolio(Decimal(100000), "USDT")
    fills = [fill(Side.BUY, "0.5", "65000.123"),
             Fill(trade_id="b", order_id="o", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.3"),
                  price=Decimal("65001.37"), quote_qty=Decimal("19500.411"), fee=Decimal("0.00030001"), fee_asset="BTC",
                  executed_at=T0),
             Fill(trade_id="c", order_id="o", symbol="BTCUSDT", side=Side.SELL, qty=Decimal("0.2"),
                  price=Decimal("66000"), quote_qty=Decimal("13200"), fee=Decimal("0.0123"), fee_asset="BNB",
                  executed_at=T0, fee_quote=Decimal("7.41"))]
    valued = Decimal(0)
    for one in fills:
        valued += one.trade(realized=pf.apply(one), reason="").fee_in_quote()
    assert valued == pf.stats.data().fees


def test_position_without_a_mark_is_valued_at_cost() -> None:
    pf = Portfolio(Decimal(1000), "USDT")
    pf.apply(fill(Side.BUY, "0.3", "333.33"))
    assert pf.unrealized({}) == 0
    assert pf.pnl({}).total == pf.equity({}) - pf.starting_cash


def test_oversell_is_refused_and_changes_nothing() -> None:
    pf = Portfolio(Decimal(1000), "USDT")
    with pytest.raises(InsufficientPositionError):
        pf.apply(fill(Side.SELL, "1", "10"))
    pf.apply(fill(Side.BUY, "1", "10"))
    before = (pf.cash, pf.realized, dict(pf.positions))
    with pytest.raises(InsufficientPositionError) as caught:
        pf.apply(fill(Side.SELL, "1.00000001", "10"))
    assert isinstance(caught.value, BotError)
    assert (pf.cash, pf.realized, dict(pf.positions)) == before


def test_an_executed_buy_beyond_cash_is_still_booked() -> None:
    # The exchange filled it (the price moved past the estimate): the books must hold it too.
    pf = Portfolio(Decimal(100), "USDT")
    pf.apply(fill(Side.BUY, "1", "100"))  # 100 + 0.1 fee > 100
    assert pf.cash == Decimal("-0.1")
    assert pf.position_qty("BTCUSDT") == 1
    assert pf.pnl({"BTCUSDT": Decimal(100)}).total == Decimal("-0.1")


def test_quantities_finer_than_1e8_are_refused() -> None:
    pf = Portfolio(Decimal(100), "USDT")
    with pytest.raises(OrderError):
        pf.apply(fill(Side.BUY, "0.000000001", "1"))


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000"), places=2)
quantities = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("5"), places=8)
operations = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]), st.sampled_from(["AAUSDT", "BBUSDT"]), quantities, prices
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations, marks=st.tuples(prices, prices), cash=st.decimals(1, 1_000_000, places=2))
def test_total_pnl_equals_equity_change_exactly(
    ops: list[tuple[Side, str, Decimal, Decimal]], marks: tuple[Decimal, Decimal], cash: Decimal
) -> None:
    pf = Portfolio(cash, "USDT")
    realized_sum = Decimal(0)
    for side, symbol, qty, price in ops:
        if side is Side.SELL:
            # Sell part or all of what is held, as a strategy would.
            qty = min(qty, pf.position_qty(symbol))
            if qty == 0:
                continue
        realized_sum += pf.apply(fill(side, qty, price, symbol))
        mark_map = {"AAUSDT": marks[0], "BBUSDT": marks[1]}
        pnl = pf.pnl(mark_map)
        assert pnl.total == pnl.realized + pnl.unrealized
        assert pnl.total == pf.equity(mark_map) - pf.starting_cash
    assert pf.realized == realized_sum


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(st.tuples(prices, st.sampled_from([Side.BUY, Side.SELL, None])), min_size=1, max_size=60),
    cash=st.decimals(min_value=Decimal("1"), max_value=Decimal("5000"), places=2),
    order=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("3000"), places=2),
    fee_rate=st.decimals(min_value=Decimal(0), max_value=Decimal("0.0999"), places=4),
)
def test_engine_sizing_never_takes_cash_below_zero(
    steps: list[tuple[Decimal, Side | None]], cash: Decimal, order: Decimal, fee_rate: Decimal
) -> None:
    async def drive() -> None:
        sink = ListSink()
        eng = engine(
            ScriptedStrategy(side for _, side in steps),
            sink,
            STARTING_CASH=str(cash),
            ORDER_QUOTE=str(order),
            FEE_RATE=str(fee_rate),
            SYMBOLS="BTCUSDT",
        )
        for price, _ in steps:
            await eng.on_tick(tick("BTCUSDT", price))
            assert eng.portfolio.cash >= 0
            snapshot = sink.emitted[-1][1].data
            assert snapshot.pnl.total == snapshot.equity - cash
        assert len(sink.of_type("trade_executed")) == eng.trade_count

    asyncio.run(drive())
