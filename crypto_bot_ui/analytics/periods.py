"""Calendar periods in a time zone, and the folding of fine UTC slices into them (pure logic).

The database sums trades per slice of UTC time (an hour, or less); each slice is then given to the
day, ISO week (Monday first) or calendar month its instants fall in, in the chosen zone. That is
exact as long as no slice straddles a period's boundary: `fold` checks every slice and answers None
when one does (a zone whose midnight is not on the hour), and the caller asks again with finer
slices. Daylight-saving changes need nothing special: an instant's local date is all that counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

SLICES = (3600, 600, 60, 1)
"""Slice lengths to try, coarse to fine: whole-hour zones fold hours, India's +5:30 ten minutes,
Nepal's +5:45 minutes, a zone off by seconds (Liberia until 1972) single seconds."""
EPSILON = timedelta(microseconds=1)


class Period(StrEnum):
    """How trades are grouped: by local day, ISO week (Monday to Sunday) or calendar month."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def period_key(local: date, period: Period) -> date:
    """The local date a period starts on: the day itself, that week's Monday, the month's 1st."""
    if period is Period.WEEK:
        return local - timedelta(days=local.weekday())
    if period is Period.MONTH:
        return local.replace(day=1)
    return local


def key_of(instant: datetime, zone: ZoneInfo, period: Period) -> date:
    """The period an instant falls in, in `zone`."""
    return period_key(instant.astimezone(zone).date(), period)


def next_key(key: date, period: Period) -> date:
    """The start of the period after the one starting on `key`."""
    if period is Period.MONTH:
        return date(key.year + key.month // 12, key.month % 12 + 1, 1)
    return key + timedelta(days=7 if period is Period.WEEK else 1)


def period_start(key: date, zone: ZoneInfo) -> datetime:
    """The first instant of the local date `key`, as a time in `zone`: local midnight, or the end of
    a daylight-saving gap where midnight does not exist (Santiago, Beirut)."""
    return datetime.combine(key, time(0), tzinfo=zone).astimezone(UTC).astimezone(zone)


def keys_between(first: date, last: date, period: Period) -> Iterator[date]:
    """Every period from the one starting on `first` to the one starting on `last`, inclusive."""
    key = first
    while key <= last:
        yield key
        key = next_key(key, period)


@dataclass(frozen=True)
class Totals:
    """What a period adds up to: realized P&L and fees in the quote asset, fills, and
    closing fills (sells) won and lost."""

    realized_pnl: Decimal = field(default_factory=Decimal)
    fees: Decimal = field(default_factory=Decimal)
    trade_count: int = 0
    wins: int = 0
    losses: int = 0


@dataclass(frozen=True)
class Slice:
    """One slice of UTC time the database summed: where it starts (Unix seconds) and its figures
    (money as exact Decimals, see sums.py; counts as ints)."""

    start: int
    figures: tuple[Any, ...]


def fold(slices: Iterable[Slice], *, seconds: int, zone: ZoneInfo, period: Period) -> dict[date, list[Any]] | None:
    """The slices' figures added up per period, or None when a slice straddles a period boundary.
    A period's bounds are worked out once, not per slice (a year of hours is 8,760 slices)."""
    periods: dict[date, list[Any]] = {}
    low = high = 0
    sums: list[Any] = []
    for piece in sorted(slices, key=lambda s: s.start):
        if not low <= piece.start < high:
            key = key_of(datetime.fromtimestamp(piece.start, UTC), zone, period)
            low = int(period_start(key, zone).timestamp())
            high = int(period_start(next_key(key, period), zone).timestamp())
            sums = periods.setdefault(key, [0] * len(piece.figures))
        if piece.start + seconds > high:
            return None
        for i, value in enumerate(piece.figures):
            sums[i] += value
    return periods
