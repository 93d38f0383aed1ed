"""P&L by local day, week and month from the database: seeded random histories across bots and
time zones (daylight saving included) against an independent recomputation, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crypto_bot_ui.analytics.performance import MAX_PERIODS, RangeTooLongError, performance
from crypto_bot_ui.analytics.periods import Period
from crypto_bot_ui.trades.models import Trade
from tests.crypto_bot_ui.analytics.conftest import MakeTrade

pytestmark = [pytest.mark.db, pytest.mark.django_db]

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe",
         "Asia/Kathmandu", "Pacific/Apia")
BOTS = ("alpha", "beta", "gamma")


def local_key(at: datetime, zone: ZoneInfo, period: Period) -> date:
    """Independent of the code under test: the local date, then ISO week's Monday or the month's 1st."""
    day = at.astimezone(zone).date()
    if period is Period.WEEK:
        return date.fromisocalendar(day.isocalendar().year, day.isocalendar().week, 1)
    return date(day.year, day.month, 1) if period is Period.MONTH else day


def history(rng: random.Random, make_trade: MakeTrade) -> list[Trade]:
    """Up to 60 trades of up to three bots over days to a year, many right at a local midnight."""
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(2500))
    span = rng.choice((2, 30, 200, 400))
    trades = []
    for _ in range(rng.randrange(1, 60)):
        at = start + timedelta(seconds=rng.randrange(span * 86_400), microseconds=rng.randrange(10**6))
        if rng.random() < 0.3:  # on a local midnight of some zone, or a microsecond before
            zone = ZoneInfo(rng.choice(ZONES))
            midnight = datetime.combine(at.astimezone(zone).date(), time(0), tzinfo=zone)
            at = midnight - rng.choice((timedelta(0), timedelta(microseconds=1)))
        side = rng.choice(("buy", "sell", "sell"))
        pnl = Decimal(rng.randrange(-5 * 10**11, 5 * 10**11)).scaleb(-8) if side == "sell" else Decimal(0)
        trades.append(make_trade(at=at, bot=rng.choice(BOTS), side=side, pnl=pnl,
                                 fee=Decimal(rng.randrange(10**9)).scaleb(-8)))
    return trades


@pytest.mark.parametrize("seed", range(4))
def test_buckets_sum_to_the_total_and_match_a_recomputation(seed: int, make_trade: MakeTrade) -> None:
    """A thousand histories in all (and three thousand more without a database in test_periods.py)."""
    rng = random.Random(seed)
    for _ in range(250):
        Trade.objects.all().delete()
        trades = Trade.objects.bulk_create(history(rng, make_trade))
        stored = list(Trade.objects.all())  # as the database keeps them (SQLite: 15 digits)
        zone, period = ZoneInfo(rng.choice(ZONES)), rng.choice(list(Period))
        bot = rng.choice((None, *BOTS))
        mine = [t for t in stored if bot is None or t.bot_id == bot]
        rows = performance(bot_id=bot, period=period, zone=zone)
        expected: dict[date, list[Decimal | int]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0, 0, 0])
        for trade in mine:
            figures = expected[local_key(trade.executed_at, zone, period)]
            figures[0] += trade.realized_pnl
            figures[1] += trade.fee_in_quote
            figures[2] += 1
            figures[3] += trade.side == "sell" and trade.realized_pnl > 0
            figures[4] += trade.side == "sell" and trade.realized_pnl < 0
        got = {row.period_start.date(): [row.totals.realized_pnl, row.totals.fees, row.totals.trade_count,
                                         row.totals.wins, row.totals.losses] for row in rows}
        assert {k: v for k, v in got.items() if v[2]} == dict(expected)
        assert sum((r.totals.realized_pnl for r in rows), Decimal(0)) == sum((t.realized_pnl for t in mine), Decimal(0))
        assert sum((r.totals.fees for r in rows), Decimal(0)) == sum((t.fee_in_quote for t in mine), Decimal(0))
        running = Decimal(0)
        for row in rows:  # the cumulative P&L is the running sum of the periods shown
            running += row.totals.realized_pnl
            assert row.cumulative_pnl == running
        for row in rows:  # each period starts where its local calendar says
            assert row.period_start.tzinfo == zone
            assert row.period_start.date() == local_key(row.period_start, zone, period)
            before = row.period_start.astimezone(UTC) - timedelta(microseconds=1)  # UTC: aware arithmetic is wall time
            assert before.astimezone(zone).date() < row.period_start.date()
        assert len(trades) >= len(mine)


def test_empty_periods_of_the_range_are_listed_and_the_range_is_half_open(make_trade: MakeTrade) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    Trade.objects.bulk_create([
        make_trade(at=datetime(2026, 3, 28, 22, 59, tzinfo=UTC), pnl="1.5"),   # 23:59 on the 28th, Berlin
        make_trade(at=datetime(2026, 3, 28, 23, 0, tzinfo=UTC), pnl="2.25"),   # 00:00 on the 29th (DST night)
        make_trade(at=datetime(2026, 3, 31, 22, 0, tzinfo=UTC), pnl="-4"),     # 00:00 on April 1st: outside
    ])
    rows = performance(bot_id="alpha", period=Period.DAY, zone=berlin,
                       since=datetime(2026, 3, 27, tzinfo=berlin), until=datetime(2026, 4, 1, tzinfo=berlin))
    assert [(r.period_start.isoformat(), r.totals.realized_pnl, r.totals.wins) for r in rows] == [
        ("2026-03-27T00:00:00+01:00", 0, 0), ("2026-03-28T00:00:00+01:00", Decimal("1.5"), 1),
        ("2026-03-29T00:00:00+01:00", Decimal("2.25"), 1), ("2026-03-30T00:00:00+02:00", 0, 0),
        ("2026-03-31T00:00:00+02:00", 0, 0)]


def test_no_trades_and_no_range_is_an_empty_answer() -> None:
    assert performance(bot_id=None, period=Period.MONTH, zone=ZoneInfo("UTC")) == []


def test_a_range_of_too_many_periods_is_refused() -> None:
    since = datetime(1990, 1, 1, tzinfo=UTC)
    with pytest.raises(RangeTooLongError):
        performance(bot_id=None, period=Period.DAY, zone=ZoneInfo("UTC"), since=since,
                    until=since + timedelta(days=MAX_PERIODS + 1))
