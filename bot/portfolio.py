"""Cash, open positions and realised profit, updated fill by fill with exact Decimal arithmetic.

A position keeps its cost basis (the quote spent on it, entry fees included) rather than a
rounded average price: with the exact cost, `realized + unrealized == equity - starting_cash`
holds to the last digit. `avg_entry` is derived from it for display. A sell realises
`proceeds - cost of the part it closes`, so its realised P&L is the round trip's result net of
both fees.

Fees are booked where the exchange takes them: in the quote asset (from cash), in the base asset
(from the quantity bought or held, as Binance does on spot buys), or in a third asset such as
BNB, which this quote-asset account books at its quote value (`Fill.fee_quote`) against cash.

A fill is a fact: the exchange executed it, so it is booked even when it cost more than the cash
the books hold (a market order's price moved past the engine's estimate). Cash then goes below
zero, with a warning; refusing it would leave the books holding less than the exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.broker.base import Fill
from bot.errors import InsufficientPositionError, OrderError
from bot.money import MONEY_STEP, QTY_STEP, ZERO
from bot.stats import TradeStats
from bot_api.events import PnlData, Side

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Position:
    """An open long position: base quantity and the quote asset paid for it."""

    qty: Decimal
    cost: Decimal

    @property
    def avg_entry(self) -> Decimal:
        """Average entry price (cost / qty), rounded to 1e-8 for display."""
        return (self.cost / self.qty).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)

    def value(self, mark: Decimal | None) -> Decimal:
        """Market value at `mark`; at cost while no price is known (unrealised P&L 0)."""
        return self.cost if mark is None else self.qty * mark

    def unrealized(self, mark: Decimal | None) -> Decimal:
        """Profit if the position were closed at `mark`: entry fees counted, the exit fee not."""
        return self.value(mark) - self.cost


class Portfolio:
    """A spot account in one quote asset: no leverage, no short selling."""

    def __init__(self, starting_cash: Decimal, quote_asset: str) -> None:
        self.starting_cash = starting_cash
        self.quote_asset = quote_asset
        self.cash = starting_cash
        self.realized = ZERO
        self.stats = TradeStats(starting_equity=starting_cash)
        self._positions: dict[str, Position] = {}

    @property
    def positions(self) -> Mapping[str, Position]:
        """Open positions by symbol (read-only view)."""
        return dict(self._positions)

    def position_qty(self, symbol: str) -> Decimal:
        """Quantity held of `symbol` (0 when flat)."""
        position = self._positions.get(symbol)
        return position.qty if position else ZERO

    def apply(self, fill: Fill) -> Decimal:
        """Book an executed fill and return its realised P&L.

        Raises a BotError (and changes nothing) for a malformed fill or a sell of more than is
        held: the books and the exchange then disagree, which no arithmetic can fix.
        """
        for name, amount in (("quantity", fill.qty), ("fee", fill.fee)):
            if amount < 0 or amount != amount.quantize(QTY_STEP):
                raise OrderError(f"fill {name} must be >= 0 with at most 8 decimals, got {amount}")
        if fill.qty == 0:
            raise OrderError("fill quantity must be positive")
        fee_cash, fee_base = self._fee_split(fill)
        if fill.side is Side.BUY:
            realized = self._buy(fill, fee_cash, fee_base)
        else:
            realized = self._sell(fill, fee_cash, fee_base)
        self.realized += realized
        fee_quote = fee_cash + (fee_base * fill.price).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
        self.stats.record(symbol=fill.symbol, closing=fill.side is Side.SELL, realized=realized, fee_quote=fee_quote)
        return realized

    def _fee_split(self, fill: Fill) -> tuple[Decimal, Decimal]:
        """(fee taken from cash, fee taken from the base asset) for `fill`."""
        if fill.fee_asset == self.quote_asset:
            return fill.fee, ZERO
        if fill.fee_asset == fill.symbol.removesuffix(self.quote_asset):
            return ZERO, fill.fee
        if fill.fee_quote is None:
            raise OrderError(f"a fee in {fill.fee_asset} needs its value in {self.quote_asset} (fee_quote)")
        return fill.fee_quote, ZERO

    def _buy(self, fill: Fill, fee_cash: Decimal, fee_base: Decimal) -> Decimal:
        received = fill.qty - fee_base
        if received <= 0:
            raise OrderError(f"the fee {fill.fee} {fill.fee_asset} takes the whole fill of {fill.qty}")
        spend = fill.quote_qty + fee_cash
        if spend > self.cash:
            logger.warning(
                "buy %s %s cost %s %s, more than the %s in cash: booked, cash goes negative",
                fill.qty, fill.symbol, spend, self.quote_asset, self.cash,
            )
        old = self._positions.get(fill.symbol, Position(ZERO, ZERO))
        self._positions[fill.symbol] = Position(old.qty + received, old.cost + spend)
        self.cash -= spend
        return ZERO  # the fee is in the cost: it is realised when the position is sold

    def _sell(self, fill: Fill, fee_cash: Decimal, fee_base: Decimal) -> Decimal:
        old = self._positions.get(fill.symbol)
        given = fill.qty + fee_base
        if old is None or given > old.qty:
            held = old.qty if old else ZERO
            raise InsufficientPositionError(f"cannot sell {given} {fill.symbol}, holding {held}")
        remaining = old.qty - given
        if remaining == 0:
            sold_cost = old.cost
            del self._positions[fill.symbol]
        else:
            # Rounded share of the cost; the rest stays with the position, so no cost is lost.
            sold_cost = (old.cost * given / old.qty).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
            self._positions[fill.symbol] = Position(remaining, old.cost - sold_cost)
        proceeds = fill.quote_qty - fee_cash
        self.cash += proceeds
        return proceeds - sold_cost

    def unrealized(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Unrealised P&L of all open positions marked at `prices`."""
        return sum((p.unrealized(prices.get(s)) for s, p in self._positions.items()), ZERO)

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Cash plus the market value of every open position."""
        return self.cash + sum((p.value(prices.get(s)) for s, p in self._positions.items()), ZERO)

    def pnl(self, prices: Mapping[str, Decimal]) -> PnlData:
        """Realised, unrealised and total P&L (total == equity - starting_cash)."""
        unrealized = self.unrealized(prices)
        return PnlData(realized=self.realized, unrealized=unrealized, total=self.realized + unrealized)
