"""Response shapes of the analytics endpoints; money is a plain decimal string, never a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, RootModel

from crypto_bot_ui.core.decimals import plain

Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
"""Money (or a ratio) as an exact decimal string without trailing zeros ("12.5")."""


class Shape(BaseModel):
    """A response object: no field beyond those declared."""

    model_config = ConfigDict(extra="forbid")


class PeriodResponse(Shape):
    """One period: `period_start` its first instant in the asked time zone (with its offset); money
    in the quote asset; `wins`/`losses` count closing trades (sells) that made or lost money;
    `cumulative_pnl` the realized P&L from the range's first period through this one."""

    period_start: datetime
    realized_pnl: Amount
    fees: Amount
    trade_count: int
    wins: int
    losses: int
    cumulative_pnl: Amount


class PerformanceResponse(RootModel[list[PeriodResponse]]):
    """Every period of the range, oldest first, empty ones included."""


class ResultsResponse(Shape):
    """A group's results: `trades` fills, `closed` closing ones (sells); `win_rate` 0..1 and
    `profit_factor` (gross profit / gross loss) to 4 places, null when undefined; `expectancy` the
    mean realized P&L of a closing trade; `total` realized P&L; `gross_loss` a positive amount."""

    key: str = Field(description="The bot's id, the strategy (blank: not reported by the bot) or the symbol")
    trades: int
    closed: int
    wins: int
    losses: int
    win_rate: Amount | None
    profit_factor: Amount | None
    expectancy: Amount | None
    total: Amount
    fees: Amount
    gross_profit: Amount
    gross_loss: Amount


class BreakdownResponse(Shape):
    """The results over all the trades asked for, and per bot, strategy and symbol."""

    total: ResultsResponse
    by_bot: list[ResultsResponse]
    by_strategy: list[ResultsResponse]
    by_symbol: list[ResultsResponse]


class PnlBinResponse(Shape):
    """Closing trades whose realized P&L lies in [low, high)."""

    low: Amount
    high: Amount
    count: int


class HoldingBinResponse(Shape):
    """Closing trades whose position was held [low_seconds, high_seconds) (null: no end)."""

    low_seconds: int
    high_seconds: int | None
    count: int
    wins: int
    losses: int


class DistributionResponse(Shape):
    """How closing trades are spread: by realized P&L (bins `width` wide, 0 an edge) and by how long
    the position was held (since the buy that opened it); the mean hold of a win and of a loss."""

    closed: int
    width: Amount | None
    pnl: list[PnlBinResponse]
    holding: list[HoldingBinResponse]
    mean_win_seconds: int | None
    mean_loss_seconds: int | None


class CurvePoint(Shape):
    """The equity at `at` (each bot's last point summed) and how far below its running peak."""

    at: datetime
    equity: Amount
    drawdown: Amount
    drawdown_pct: Amount


class DrawdownResponse(Shape):
    """The deepest drawdown: amount, percent of the peak, its peak and trough, and its recovery (null: not yet)."""

    amount: Amount
    pct: Amount
    peak_at: datetime
    trough_at: datetime
    recovered_at: datetime | None


class CurveResponse(Shape):
    """The equity curve (every bot's equity summed) with its deepest drawdown (null: it never fell):
    every recorded point when there are at most 2000 (`step_seconds` 0), else one per `step_seconds`
    (10 s to a day, in UTC; a day at most, so a history of over 2000 days has more points)."""

    step_seconds: int
    equity: list[CurvePoint]
    max_drawdown: DrawdownResponse | None


class SliceResponse(Shape):
    """Money in one place: `name` is "cash" or a symbol."""

    name: str
    value: Amount


class HoldingResponse(SliceResponse):
    """One bot's money in one place."""

    bot: str


class AllocationGroup(Shape):
    """One quote asset's money now: cash and each symbol's positions at market value (summed over the
    bots), their `total`, and each bot's apart; `decimals` as the bots' pages show them."""

    quote_asset: str
    decimals: int
    total: Amount
    slices: list[SliceResponse]
    holdings: list[HoldingResponse]


class AllocationResponse(Shape):
    """Where the money sits, per quote asset (nearly always one)."""

    groups: list[AllocationGroup]
