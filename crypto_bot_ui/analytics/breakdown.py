"""How the trades went per bot, per strategy and per symbol (selectors): counts, win rate, profit
factor, expectancy, total and fees; each a database aggregation, exact (see sums.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from django.db.models import Count, Q

from crypto_bot_ui.analytics.performance import LOST, WON, trades_in
from crypto_bot_ui.analytics.sums import money, money_sum, split_total

RATIO_STEP = Decimal("0.0001")
"""Win rate and profit factor are ratios, given to four places (half up, as the bot's own stats)."""
RATIO_MAX = Decimal(1_000_000)
"""The largest profit factor given (as the bot's stats): beyond it, "no loss to speak of"."""
MONEY_STEP = Decimal("0.00000001")
"""Expectancy (a mean) is money, given to the bot's step."""
CLOSING = Q(side="sell")


class By(StrEnum):
    """What trades are grouped by."""

    BOT = "bot"
    STRATEGY = "strategy"
    SYMBOL = "symbol"


COLUMN = {By.BOT: "bot_id", By.STRATEGY: "strategy", By.SYMBOL: "symbol"}


@dataclass(frozen=True)
class Results:
    """One group's results: `trades` fills, `closed` closing fills (sells) of which `wins` made and
    `losses` lost money; realized `total`, `fees`, `gross_profit` and `gross_loss` (a positive amount)."""

    key: str
    trades: int
    closed: int
    wins: int
    losses: int
    total: Decimal
    fees: Decimal
    gross_profit: Decimal
    gross_loss: Decimal

    @property
    def win_rate(self) -> Decimal | None:
        """Wins over closing trades (0..1); None before the first."""
        return None if not self.closed else (Decimal(self.wins) / self.closed).quantize(RATIO_STEP, ROUND_HALF_UP)

    @property
    def profit_factor(self) -> Decimal | None:
        """Gross profit over gross loss, at most RATIO_MAX; None without a loss (infinite or undefined)."""
        if not self.gross_loss:
            return None
        return min(self.gross_profit / self.gross_loss, RATIO_MAX).quantize(RATIO_STEP, ROUND_HALF_UP)

    @property
    def expectancy(self) -> Decimal | None:
        """The mean realized P&L of a closing trade; None before the first."""
        return None if not self.closed else (self.total / self.closed).quantize(MONEY_STEP, ROUND_HALF_UP)


FIGURES = ("trades", "closed", "wins", "losses", "total", "fees", "gross_profit", "gross_loss")


def _figures() -> dict[str, Any]:
    return {"trades": Count("id"), "closed": Count("id", filter=CLOSING), "wins": Count("id", filter=WON),
            "losses": Count("id", filter=LOST), "total": money_sum("realized_pnl"), "fees": money_sum("fee_in_quote"),
            "gross_profit": money_sum("realized_pnl", filter=WON), "gross_loss": money_sum("realized_pnl", filter=LOST)}


def _results(key: str, raw: list[Any]) -> Results:
    trades, closed, wins, losses, total, fees, profit, loss = raw
    return Results(key=key, trades=trades, closed=closed, wins=wins, losses=losses, total=money(total),
                   fees=money(fees), gross_profit=money(profit), gross_loss=-money(loss))


@dataclass(frozen=True)
class Comparison:
    """The results per bot, per strategy and per symbol, and over all of them."""

    total: Results
    by_bot: list[Results]
    by_strategy: list[Results]
    by_symbol: list[Results]


def comparison(*, bot_id: str | None, since: datetime | None = None, until: datetime | None = None) -> Comparison:
    """One bot's (None: every bot's) results in since <= executed_at < until. One pass over the
    trades grouped by bot, strategy and symbol together (a few dozen rows); each view and the total
    are added up from those, exactly (counts, and money as the database summed it)."""
    trades = trades_in(bot_id=bot_id, since=since, until=until)
    rows = trades.values(*COLUMN.values()).annotate(**_figures()).values_list(*COLUMN.values(), *FIGURES)
    total: list[Any] = [0] * len(FIGURES)
    views: dict[By, dict[str, list[Any]]] = {by: {} for by in By}
    for row in rows:
        keys, figures = row[:len(COLUMN)], [split_total(value) for value in row[len(COLUMN):]]
        for by, key in zip(By, keys, strict=True):
            sums = views[by].setdefault(key, [0] * len(FIGURES))
            for i, value in enumerate(figures):
                sums[i] += value
        for i, value in enumerate(figures):
            total[i] += value
    listed = {by: [_results(key, views[by][key]) for key in sorted(views[by])] for by in By}
    return Comparison(total=_results("", total), by_bot=listed[By.BOT], by_strategy=listed[By.STRATEGY],
                      by_symbol=listed[By.SYMBOL])
