"""P&L against an independent recomputation from the trade list, for thousands of random ledgers.

The reference below books the same fills with exact fractions (no rounding at all) and values the
account from cash flows alone; the portfolio must agree: realized + unrealized == total ==
equity - starting cash to the cent (in fact exactly), fees included in every asset they come in,
through partial closes and positions closed and reopened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.broker.base import Fill
from bot.portfolio import Portfolio
from bot_api.events import Side

STEP = Decimal("0.00000001")
CENT = Fraction(1, 100)
SYMBOLS = ("BTCUSDT", "ETHUSDT")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MAX_PRICE = Decimal("99999")
LIMIT = Decimal("1E10")
"""An account past this (cash, or a position at the highest price) stops trading: round trips at
prices 10^7 apart would otherwise compound past the contract's money cap (1E18), which no real
account nears. A buy spends at most half the cash, at 0.01 or more: 5 * 10^6 times LIMIT at most."""


@dataclass
class Reference:
    """Exact average-cost bookkeeping, written apart from the portfolio."""

    cash: Fraction
    qty: dict[str, Fraction] = field(default_factory=dict)
    cost: dict[str, Fraction] = field(default_factory=dict)
    realized: Fraction = Fraction(0)
    flows: Fraction = Fraction(0)
    """Quote in (+) and out (-) of the account, fees included: the valuation needs nothing else."""

    @staticmethod
    def fee_parts(fill: Fill) -> tuple[Fraction, Fraction]:
        """(fee out of cash, fee out of the coin): USDT and BNB (at its quote value) are cash."""
        if fill.fee_asset == fill.symbol.removesuffix("USDT"):
            return Fraction(0), Fraction(fill.fee)
        if fill.fee_asset == "USDT":
            return Fraction(fill.fee), Fraction(0)
        assert fill.fee_quote is not None
        return Fraction(fill.fee_quote), Fraction(0)

    def book(self, fill: Fill) -> Fraction:
        fee_cash, fee_base = self.fee_parts(fill)
        symbol, qty, quote = fill.symbol, Fraction(fill.qty), Fraction(fill.quote_qty)
        held, cost = self.qty.get(symbol, Fraction(0)), self.cost.get(symbol, Fraction(0))
        if fill.side is Side.BUY:
            self.qty[symbol], self.cost[symbol] = held + qty - fee_base, cost + quote + fee_cash
            self.cash -= quote + fee_cash
            self.flows -= quote + fee_cash
            return Fraction(0)
        given_qty = qty + fee_base
        sold_cost = cost * given_qty / held
        self.qty[symbol], self.cost[symbol] = held - given_qty, cost - sold_cost
        proceeds = quote - fee_cash
        self.cash += proceeds
        self.flows += proceeds
        self.realized += proceeds - sold_cost
        return proceeds - sold_cost


action = st.tuples(
    st.sampled_from(SYMBOLS),
    st.sampled_from(["buy", "buy", "sell_part", "sell_all"]),
    st.integers(min_value=1, max_value=100),  # percent of cash to spend or of the position to sell
    st.decimals(min_value=Decimal("0.01"), max_value=MAX_PRICE, places=2),  # price
    st.sampled_from(["quote", "base", "bnb"]),  # where the exchange takes the fee
    st.sampled_from([Decimal("0"), Decimal("0.001"), Decimal("0.00075"), Decimal("0.01")]),  # fee rate
)


def make_fill(portfolio: Portfolio, n: int, act: tuple[str, str, int, Decimal, str, Decimal]) -> Fill | None:
    """A fill the account can take for `act` (None when it cannot: no cash, nothing to sell)."""
    symbol, kind, percent, price, fee_mode, rate = act
    if kind == "buy":
        qty = (portfolio.cash * percent / 200 / price).quantize(STEP, rounding=ROUND_DOWN)
        side = Side.BUY
    else:
        held = portfolio.position_qty(symbol)
        share = held if kind == "sell_all" else held * percent / 100
        # A fee in the base asset comes on top of a sell: leave room for it.
        room = share / (1 + rate) if fee_mode == "base" else share
        qty = room.quantize(STEP, rounding=ROUND_DOWN)
        side = Side.SELL
    if qty <= 0:
        return None
    quote_qty = (qty * price).quantize(STEP, rounding=ROUND_HALF_UP)
    fee_quote = (quote_qty * rate).quantize(STEP, rounding=ROUND_HALF_UP)
    fee_asset, fee, bnb_value = {
        "quote": ("USDT", fee_quote, None),
        "base": (symbol.removesuffix("USDT"), (qty * rate).quantize(STEP, rounding=ROUND_DOWN), None),
        "bnb": ("BNB", (fee_quote / 300).quantize(STEP, rounding=ROUND_HALF_UP), fee_quote),
    }[fee_mode]
    return Fill(trade_id=f"t{n}", order_id=f"o{n}", symbol=symbol, side=side, qty=qty, price=price,
                quote_qty=quote_qty, fee=fee, fee_asset=fee_asset, executed_at=T0, fee_quote=bnb_value)


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(
    actions=st.lists(action, min_size=1, max_size=60),
    marks=st.tuples(*(st.decimals(min_value=Decimal("0.01"), max_value=MAX_PRICE, places=2)
                      for _ in SYMBOLS)),
    start=st.decimals(min_value=Decimal("10"), max_value=Decimal("1000000"), places=2),
)
def test_pnl_matches_an_exact_recomputation_from_the_trades(
    actions: list[tuple[str, str, int, Decimal, str, Decimal]], marks: tuple[Decimal, ...], start: Decimal
) -> None:
    portfolio = Portfolio(start, "USDT")
    ref = Reference(cash=Fraction(start))
    realized_per_sell: list[Decimal] = []
    for n, act in enumerate(actions):
        if portfolio.cash > LIMIT or any(portfolio.position_qty(s) * MAX_PRICE > LIMIT for s in SYMBOLS):
            break
        fill = make_fill(portfolio, n, act)
        if fill is None:
            continue
        realized = portfolio.apply(fill)
        exact = ref.book(fill)
        if fill.side is Side.SELL:
            realized_per_sell.append(realized)
            assert abs(Fraction(realized) - exact) < Fraction(1, 10**6)  # only cost-share rounding

    prices = dict(zip(SYMBOLS, marks, strict=True))
    pnl = portfolio.pnl(prices)
    equity = portfolio.equity(prices)
    # The account valued from cash flows and holdings only, no cost basis at all.
    ref_equity = Fraction(start) + ref.flows + sum(
        (q * Fraction(prices[s]) for s, q in ref.qty.items()), Fraction(0)
    )
    assert pnl.realized + pnl.unrealized == pnl.total
    assert pnl.total == equity - start  # exact, not just to the cent
    assert Fraction(equity) == ref_equity
    assert Fraction(portfolio.cash) == ref.cash
    assert abs(Fraction(pnl.realized) - ref.realized) < CENT
    assert {s: Fraction(q) for s, q in ((s, portfolio.position_qty(s)) for s in SYMBOLS) if q} == {
        s: q for s, q in ref.qty.items() if q
    }

    stats = portfolio.stats.data()
    assert stats.closed_trades == len(realized_per_sell)
    assert stats.wins == sum(r > 0 for r in realized_per_sell)
    assert stats.losses == sum(r < 0 for r in realized_per_sell)
    assert stats.gross_profit - stats.gross_loss == sum(realized_per_sell, Decimal(0)) == pnl.realized
    if realized_per_sell:
        assert stats.best_trade == max(realized_per_sell) and stats.worst_trade == min(realized_per_sell)
    peak, curve, drawdown = start, start, Decimal(0)
    for r in realized_per_sell:
        curve += r
        peak = max(peak, curve)
        drawdown = max(drawdown, peak - curve)
    assert stats.max_drawdown == drawdown
