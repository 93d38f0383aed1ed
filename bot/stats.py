"""Performance statistics over closed trades: win rate, profit factor, drawdown, per symbol.

A "closed trade" is a sell: the fill that realises P&L (entry fees are in the position's cost,
so a sell's realised P&L is its whole round-trip result, net of both fees). Everything is
recomputable from the ledger, so a restarted bot shows the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from bot.money import MONEY_STEP, ZERO
from bot_api.events import StatsData, SymbolStatsData

RATIO_STEP = Decimal("0.0001")
RATIO_MAX = Decimal(1_000_000)
"""Largest ratio reported (profit factor): beyond it the figure means "no loss to speak of"."""


def _ratio(numerator: Decimal, denominator: Decimal, step: Decimal = RATIO_STEP) -> Decimal | None:
    if denominator == 0:
        return None
    # Capped: a loss of a fraction of a cent against real profits makes a ratio of 1E+18 and more,
    # which says nothing more than "a million" and would not even fit the contract's money.
    return min(numerator / denominator, RATIO_MAX).quantize(step, rounding=ROUND_HALF_UP)


@dataclass
class SymbolStats:
    """Counters of one symbol."""

    fills: int = 0
    closed: int = 0
    wins: int = 0
    realized: Decimal = ZERO


@dataclass
class TradeStats:
    """Accumulates every fill's realised P&L; `data()` is the contract's view."""

    starting_equity: Decimal
    closed: int = 0
    wins: int = 0
    losses: int = 0
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    fees: Decimal = ZERO
    best: Decimal | None = None
    worst: Decimal | None = None
    realized: Decimal = ZERO
    peak: Decimal | None = None
    max_drawdown: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO
    per_symbol: dict[str, SymbolStats] = field(default_factory=dict)

    def record(self, *, symbol: str, closing: bool, realized: Decimal, fee_quote: Decimal) -> None:
        """Count one fill; a closing one (sell) also counts as a trade won or lost."""
        sym = self.per_symbol.setdefault(symbol, SymbolStats())
        sym.fills += 1
        self.fees += fee_quote
        if not closing:
            return
        self.closed += 1
        sym.closed += 1
        sym.realized += realized
        if realized > 0:
            self.wins += 1
            sym.wins += 1
            self.gross_profit += realized
        elif realized < 0:
            self.losses += 1
            self.gross_loss -= realized
        self.best = realized if self.best is None else max(self.best, realized)
        self.worst = realized if self.worst is None else min(self.worst, realized)
        self._track_drawdown(realized)

    def _track_drawdown(self, realized: Decimal) -> None:
        # Drawdown of realised equity (starting cash + closed P&L): a property of the ledger,
        # so it survives restarts; open positions' swings show in unrealised P&L instead.
        self.realized += realized
        equity = self.starting_equity + self.realized
        peak = self.starting_equity if self.peak is None else self.peak
        peak = max(peak, equity)
        self.peak = peak
        drawdown = peak - equity
        if drawdown > self.max_drawdown:
            self.max_drawdown = drawdown
            self.max_drawdown_pct = (drawdown * 100 / peak).quantize(RATIO_STEP, rounding=ROUND_HALF_UP)

    def data(self) -> StatsData:
        """The statistics as they travel in `status`."""
        return StatsData(
            closed_trades=self.closed,
            wins=self.wins,
            losses=self.losses,
            win_rate=_ratio(Decimal(self.wins), Decimal(self.closed)),
            profit_factor=_ratio(self.gross_profit, self.gross_loss),
            expectancy=_ratio(self.gross_profit - self.gross_loss, Decimal(self.closed), MONEY_STEP),
            gross_profit=self.gross_profit,
            gross_loss=self.gross_loss,
            fees=self.fees,
            best_trade=self.best,
            worst_trade=self.worst,
            max_drawdown=self.max_drawdown,
            max_drawdown_pct=self.max_drawdown_pct,
            per_symbol=[
                SymbolStatsData(
                    symbol=symbol, fills=s.fills, closed=s.closed, wins=s.wins, realized_pnl=s.realized
                )
                for symbol, s in sorted(self.per_symbol.items())
            ],
        )
