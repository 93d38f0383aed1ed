"""Cash, open positions and realised profit, updated fill by fill with exact Decimal arithmetic.

A position keeps its cost basis (the quote spent on it) rather than a rounded average price:
with the exact cost, `realized + unrealized == equity - starting_cash` holds to the last digit.
`avg_entry` is derived from it for display. Realised P&L of a sell is
`quote_qty - cost of the sold part - fee`, i.e. `(price - avg_entry) * qty - fee`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.broker.base import Fill
from bot.errors import InsufficientFundsError, InsufficientPositionError, OrderError
from bot_api.events import PnlData, Side

logger = logging.getLogger(__name__)

QTY_STEP = Decimal("0.00000001")
MONEY_STEP = Decimal("0.00000001")
ZERO = Decimal(0)


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
        """Profit if the position were closed at `mark`, before fees."""
        return self.value(mark) - self.cost


class Portfolio:
    """A spot account in one quote asset: no leverage, no short selling."""

    def __init__(self, starting_cash: Decimal, quote_asset: str) -> None:
        self.starting_cash = starting_cash
        self.quote_asset = quote_asset
        self.cash = starting_cash
        self.realized = ZERO
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
        """Book a fill and return its realised P&L; raise a BotError if it is not possible.

        The portfolio is unchanged when an error is raised.
        """
        if fill.qty <= 0 or fill.qty != fill.qty.quantize(QTY_STEP):
            raise OrderError(f"fill quantity must be positive with at most 8 decimals, got {fill.qty}")
        realized = self._buy(fill) if fill.side is Side.BUY else self._sell(fill)
        self.realized += realized
        return realized

    def _buy(self, fill: Fill) -> Decimal:
        spend = fill.quote_qty + fill.fee
        if spend > self.cash:
            raise InsufficientFundsError(
                f"buying {fill.qty} {fill.symbol} costs {spend} {self.quote_asset}, cash is {self.cash}"
            )
        old = self._positions.get(fill.symbol, Position(ZERO, ZERO))
        self._positions[fill.symbol] = Position(old.qty + fill.qty, old.cost + fill.quote_qty)
        self.cash -= spend
        return -fill.fee

    def _sell(self, fill: Fill) -> Decimal:
        old = self._positions.get(fill.symbol)
        if old is None or fill.qty > old.qty:
            held = old.qty if old else ZERO
            raise InsufficientPositionError(f"cannot sell {fill.qty} {fill.symbol}, holding {held}")
        remaining = old.qty - fill.qty
        if remaining == 0:
            sold_cost = old.cost
            del self._positions[fill.symbol]
        else:
            # Rounded share of the cost; the rest stays with the position, so no cost is lost.
            sold_cost = (old.cost * fill.qty / old.qty).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
            self._positions[fill.symbol] = Position(remaining, old.cost - sold_cost)
        self.cash += fill.quote_qty - fill.fee
        return fill.quote_qty - sold_cost - fill.fee

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
