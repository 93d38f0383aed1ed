"""The account as a page shows it: marked to the latest prices, rounded once, adding up exactly.

Rounding each figure on its own would let the shown parts disagree with the shown whole by a cent
(0.004 + 0.004 shows as 0.00 + 0.00 = 0.01). So every position is rounded first and the headline
figures are sums of the rounded parts: the page can format them and never has to recompute money.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from bot.portfolio import Portfolio
from bot_api.events import MarksData, PositionMarkData
from bot_api.models import CENT_ASSETS, display_decimals

__all__ = ["CENT_ASSETS", "display_decimals", "marks"]

def marks(
    portfolio: Portfolio, prices: Mapping[str, Decimal], decimals: int, *, today: Decimal | None = None
) -> MarksData:
    """The portfolio marked to `prices`, rounded to `decimals`, parts summing to the wholes;
    `today`: the day's P&L, shown as the shown equity less the day's opening equity rounded alike
    (rounding the day's P&L on its own could put it a cent away from the equity beside it)."""
    step = Decimal(1).scaleb(-decimals)

    def rounded(value: Decimal) -> Decimal:
        return value.quantize(step, rounding=ROUND_HALF_UP)

    positions = {
        symbol: PositionMarkData(
            value=rounded(position.value(prices.get(symbol))),
            unrealized=rounded(position.unrealized(prices.get(symbol))),
        )
        for symbol, position in sorted(portfolio.positions.items())
    }
    zero = rounded(Decimal(0))
    realized = rounded(portfolio.realized)
    unrealized = sum((p.unrealized for p in positions.values()), zero)
    cash = rounded(portfolio.cash)
    equity = cash + sum((p.value for p in positions.values()), zero)
    day_open = None if today is None else portfolio.equity(prices) - today
    return MarksData(
        decimals=decimals,
        realized=realized,
        unrealized=unrealized,
        total=realized + unrealized,
        cash=cash,
        equity=equity,
        positions=positions,
        today=None if day_open is None else equity - rounded(day_open),
    )
