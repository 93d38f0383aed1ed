"""Realized P&L, fees and trade counts per local day, ISO week or calendar month (selectors)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet

from crypto_bot_ui.analytics.periods import (
    EPSILON,
    SLICES,
    Period,
    Slice,
    Totals,
    fold,
    key_of,
    keys_between,
    period_start,
)
from crypto_bot_ui.analytics.sums import TimeSlice, money, money_sum, slice_start, split_total
from crypto_bot_ui.trades.models import Trade

MAX_PERIODS = 3700
"""The most periods one answer lists (ten years of days): a longer range is refused, not truncated."""

WON = Q(side="sell", realized_pnl__gt=0)
LOST = Q(side="sell", realized_pnl__lt=0)
"""A closing fill (a sell) that realized a profit, or a loss; a buy realizes nothing (its fee is in the cost)."""


class RangeTooLongError(ValueError):
    """The range holds more than MAX_PERIODS periods (not retryable: ask for a coarser period)."""


@dataclass(frozen=True)
class PeriodRow:
    """One period: its first instant in the zone, its figures, and the realized P&L from the range's
    start to the period's end (`cumulative_pnl`: the running sum of the rows' own figures)."""

    period_start: datetime
    totals: Totals
    cumulative_pnl: Decimal = Decimal(0)


def trades_in(*, bot_id: str | None, since: datetime | None, until: datetime | None) -> QuerySet[Trade]:
    """The trades of one bot (None: every bot) with since <= executed_at < until (either open)."""
    trades = Trade.objects.all() if bot_id is None else Trade.objects.filter(bot_id=bot_id)
    if since is not None:
        trades = trades.filter(executed_at__gte=since)
    if until is not None:
        trades = trades.filter(executed_at__lt=until)
    return trades.order_by()


def performance(
    *, bot_id: str | None, period: Period, zone: ZoneInfo, since: datetime | None = None,
    until: datetime | None = None,
) -> list[PeriodRow]:
    """Every period from the range's first to its last (the first and last trade's when open),
    empty ones included, oldest first. Summed in the database; exact (see sums.py)."""
    trades = trades_in(bot_id=bot_id, since=since, until=until)
    periods = _periods(trades, period=period, zone=zone)
    if not periods and (since is None or until is None):
        return []
    first = key_of(since, zone, period) if since is not None else min(periods)
    last = key_of(until - EPSILON, zone, period) if until is not None else max(periods)
    rows, running = [], Decimal(0)
    for key in _bounded(keys_between(first, last, period)):
        totals = periods.get(key, Totals())
        running += totals.realized_pnl
        rows.append(PeriodRow(period_start=period_start(key, zone), totals=totals, cumulative_pnl=running))
    return rows


def _periods(trades: QuerySet[Trade], *, period: Period, zone: ZoneInfo) -> dict[date, Totals]:
    """The figures per period, from slices of UTC time summed by the database, fine enough for `zone`."""
    for seconds in SLICES:
        rows = (trades.annotate(slice=TimeSlice("executed_at", seconds)).values("slice")
                .annotate(realized=money_sum("realized_pnl"), fees=money_sum("fee_in_quote"), count=Count("id"),
                          wins=Count("id", filter=WON), losses=Count("id", filter=LOST))
                .values_list("slice", "realized", "fees", "count", "wins", "losses"))
        slices = [Slice(slice_start(row[0], seconds), (split_total(row[1]), split_total(row[2]), *row[3:]))
                  for row in rows]
        folded = fold(slices, seconds=seconds, zone=zone, period=period)
        if folded is not None:
            return {key: Totals(money(realized), money(fees), count, wins, losses)
                    for key, (realized, fees, count, wins, losses) in folded.items()}
    raise AssertionError("one-second slices never straddle a period")  # pragma: no cover


def _bounded(keys: Iterable[date]) -> list[date]:
    """The keys, refused when there are more than MAX_PERIODS."""
    bounded: list[date] = []
    for key in keys:
        bounded.append(key)
        if len(bounded) > MAX_PERIODS:
            raise RangeTooLongError(f"the range holds more than {MAX_PERIODS} periods; choose a longer period "
                                    "or a shorter range")
    return bounded
