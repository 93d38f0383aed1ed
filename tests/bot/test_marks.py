"""The marks a page shows: rounded once, parts adding up to the wholes digit for digit, each figure
within half a display step of the exact one; and every price event carries the current marks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.broker.base import Fill
from bot.marks import display_decimals, marks
from bot.portfolio import Portfolio
from bot_api.events import PortfolioEvent, PriceUpdateEvent, Side
from tests.bot.fakes import ListSink, ScriptedStrategy, engine, tick

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("90000"), places=2)
qtys = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("3"), places=8)


def buy(symbol: str, qty: Decimal, price: Decimal, n: int) -> Fill:
    fee = (qty * price * Decimal("0.001")).quantize(Decimal("0.00000001"))
    return Fill(trade_id=f"t{n}", order_id="", symbol=symbol, side=Side.BUY, qty=qty, price=price,
                quote_qty=qty * price, fee=fee, fee_asset="USDT", executed_at=T0)


@settings(max_examples=300, deadline=None)
@given(
    buys=st.lists(st.tuples(st.sampled_from(SYMBOLS), qtys, prices), min_size=0, max_size=6),
    marks_at=st.fixed_dictionaries({s: prices for s in SYMBOLS}),
    decimals=st.sampled_from([2, 8]),
)
def test_shown_parts_add_up_to_the_shown_wholes(
    buys: list[tuple[str, Decimal, Decimal]], marks_at: dict[str, Decimal], decimals: int
) -> None:
    portfolio = Portfolio(Decimal("10000"), "USDT")
    for n, (symbol, qty, price) in enumerate(buys):
        portfolio.apply(buy(symbol, qty, price, n))
    day_open = Decimal("9876.543219")  # the equity when the day began (not a round figure)
    m = marks(portfolio, marks_at, decimals, today=portfolio.equity(marks_at) - day_open)
    step = Decimal(1).scaleb(-decimals)
    shown = [m.realized, m.unrealized, m.total, m.cash, m.equity, m.today,
             *(p.value for p in m.positions.values()), *(p.unrealized for p in m.positions.values())]
    assert all(v == v.quantize(step) for v in shown)
    assert m.unrealized == sum((p.unrealized for p in m.positions.values()), Decimal(0))
    assert m.total == m.realized + m.unrealized
    assert m.equity == m.cash + sum((p.value for p in m.positions.values()), Decimal(0))
    assert m.today == m.equity - day_open.quantize(step)  # today agrees with the equity shown beside it
    assert set(m.positions) == set(portfolio.positions)
    # Each shown figure is the exact one rounded (a sum may drift by half a step per part).
    half = step / 2
    assert abs(m.cash - portfolio.cash) <= half
    assert abs(m.unrealized - portfolio.unrealized(marks_at)) <= half * max(1, len(m.positions))
    assert abs(m.equity - portfolio.equity(marks_at)) <= half * (1 + len(m.positions))


def test_display_decimals_follow_the_quote_asset() -> None:
    assert display_decimals("USDT") == 2
    assert display_decimals("BTC") == 8


async def test_every_price_event_carries_the_marks_of_the_snapshot_at_its_seq() -> None:
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY, Side.BUY, None, None, None]), sink, STRATEGY_TIMEFRAME="0",
                 SYMBOLS="BTCUSDT,ETHUSDT", ORDER_QUOTE="1000")
    for symbol, price in [("BTCUSDT", "65000"), ("ETHUSDT", "3500"), ("BTCUSDT", "65010.37"),
                          ("ETHUSDT", "3499.99"), ("BTCUSDT", "64990.01")]:
        await eng.on_tick(tick(symbol, price))
        last_price = [e for e in sink.events if isinstance(e, PriceUpdateEvent)][-1]
        after = sink.events[sink.events.index(last_price) + 1:]
        # A trade after the price changes the account: the account it emits has the new marks.
        expected = next((e.data.marks for e in after if isinstance(e, PortfolioEvent)), None)
        if expected is None:
            expected = eng.snapshot().data.marks
            assert last_price.data.marks == expected
        assert expected is not None and expected.total == expected.realized + expected.unrealized
    final = eng.snapshot().data.marks
    assert final is not None and set(final.positions) == {"BTCUSDT", "ETHUSDT"}
    assert final.unrealized != 0  # prices moved after the buys
