"""Folding UTC slices into local periods, against an independent count of each trade's local date
(pure logic: thousands of seeded random histories, in zones with daylight saving and odd offsets)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crypto_bot_ui.analytics.periods import (
    SLICES,
    Period,
    Slice,
    fold,
    keys_between,
    next_key,
    period_start,
)

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns", "Africa/Monrovia", "Asia/Beirut")
"""Daylight saving in both hemispheres, a 30-minute change (Lord Howe), :30 and :45 offsets, a
midnight that does not exist (Santiago, Beirut), and Liberia's -0:44:30 until 1972."""
START = datetime(1971, 6, 1, tzinfo=UTC)


def random_instants(rng: random.Random, count: int) -> list[datetime]:
    """Instants over a random stretch, many of them on or next to a quarter hour (where periods turn)."""
    origin = START + timedelta(days=rng.randrange(0, 20_000))
    span = rng.choice((3, 40, 400))
    instants = []
    for _ in range(count):
        at = origin + timedelta(seconds=rng.randrange(span * 86_400))
        if rng.random() < 0.4:
            at = at.replace(minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
            at += rng.choice((timedelta(0), -timedelta(microseconds=1), timedelta(microseconds=1)))
        instants.append(at)
    return instants


def sliced(instants: list[datetime], amounts: list[Decimal], seconds: int) -> list[Slice]:
    """What the database answers: the amounts summed per slice of UTC time, in no order."""
    slices: dict[int, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for at, amount in zip(instants, amounts, strict=True):
        figures = slices[int(at.timestamp()) // seconds * seconds]
        figures[0] += amount
        figures[1] += 1
    return [Slice(start, tuple(figures)) for start, figures in reversed(slices.items())]


def by_local_date(
    instants: list[datetime], amounts: list[Decimal], zone: ZoneInfo, period: Period,
) -> dict[date, Decimal]:
    """The independent count: each trade's local calendar date, grouped as the period says."""
    sums: dict[date, Decimal] = defaultdict(Decimal)
    for at, amount in zip(instants, amounts, strict=True):
        local = at.astimezone(zone).date()
        if period is Period.WEEK:
            local = date.fromisocalendar(*local.isocalendar()[:2], 1)
        elif period is Period.MONTH:
            local = date(local.year, local.month, 1)
        sums[local] += amount
    return dict(sums)


def folded(
    instants: list[datetime], amounts: list[Decimal], zone: ZoneInfo, period: Period,
) -> dict[date, list[Any]]:
    """As the selector does it: the coarsest slices that fold."""
    for seconds in SLICES:
        result = fold(sliced(instants, amounts, seconds), seconds=seconds, zone=zone, period=period)
        if result is not None:
            return result
    raise AssertionError("no slice length folded")


@pytest.mark.parametrize("seed", range(4))
def test_periods_match_each_trades_local_date_in_thousands_of_histories(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(750):
        zone, period = ZoneInfo(rng.choice(ZONES)), rng.choice(list(Period))
        instants = random_instants(rng, rng.randrange(1, 40))
        amounts = [Decimal(rng.randrange(-10**10, 10**10)).scaleb(-8) for _ in instants]
        result = folded(instants, amounts, zone, period)
        assert {key: figures[0] for key, figures in result.items()} == by_local_date(instants, amounts, zone, period)
        assert sum((figures[0] for figures in result.values()), Decimal(0)) == sum(amounts, Decimal(0))
        assert sum(figures[1] for figures in result.values()) == len(instants)


def test_whole_hour_zones_fold_hours_and_others_go_finer() -> None:
    instants = [datetime(2026, 3, 10, 18, 31, tzinfo=UTC)]  # 00:01 in Kolkata (+5:30), on the 11th
    assert fold(sliced(instants, [Decimal(1)], 3600), seconds=3600, zone=ZoneInfo("Asia/Kolkata"),
                period=Period.DAY) is None
    assert folded(instants, [Decimal(1)], ZoneInfo("Asia/Kolkata"), Period.DAY) == {date(2026, 3, 11): [Decimal(1), 1]}
    assert fold(sliced(instants, [Decimal(1)], 3600), seconds=3600, zone=ZoneInfo("Europe/Berlin"),
                period=Period.DAY) is not None


def test_a_week_starts_on_monday_and_a_month_on_the_first() -> None:
    assert [k.isoformat() for k in keys_between(date(2026, 12, 28), date(2027, 1, 11), Period.WEEK)] == [
        "2026-12-28", "2027-01-04", "2027-01-11"]
    assert next_key(date(2026, 12, 1), Period.MONTH) == date(2027, 1, 1)
    assert all(k.weekday() == 0 for k in keys_between(date(2024, 1, 1), date(2026, 1, 1), Period.WEEK))


def test_a_period_starts_at_local_midnight_or_where_a_gap_ends() -> None:
    berlin = period_start(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))  # the night clocks go forward
    assert (berlin.hour, berlin.minute, berlin.utcoffset()) == (0, 0, timedelta(hours=1))
    santiago = period_start(date(2022, 9, 11), ZoneInfo("America/Santiago"))  # midnight did not exist
    assert (santiago.hour, santiago.astimezone(UTC)) == (1, datetime(2022, 9, 11, 4, tzinfo=UTC))
