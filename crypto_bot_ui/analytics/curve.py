"""The equity curve of the analytics page (a selector): summed over the bots, with its drawdown and
the deepest one's dates. (The cumulative realized P&L comes with the periods: performance.py.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import connection
from django.db.models import Max, Min

from crypto_bot_ui.trades.models import EquitySnapshot

MAX_POINTS = 2000
"""About the most points of the equity curve: a longer history is shown at a coarser step
(`step_seconds`: ten seconds, a minute, ten minutes, an hour, a day; in UTC), days at most."""
PCT_STEP = Decimal("0.0001")


@dataclass(frozen=True)
class Point:
    """The equity at `at` (each bot's last point at or before it, summed), below its running peak
    by `drawdown` (money) and `drawdown_pct` (percent of the peak)."""

    at: datetime
    equity: Decimal
    drawdown: Decimal
    drawdown_pct: Decimal


@dataclass(frozen=True)
class Drawdown:
    """The deepest fall from a peak: how much, from when to its bottom, and when (if) it was made good."""

    amount: Decimal
    pct: Decimal
    peak_at: datetime
    trough_at: datetime
    recovered_at: datetime | None


@dataclass(frozen=True)
class Curves:
    """The equity curve (`step_seconds` apart, 0: every recorded point) and its deepest drawdown."""

    step_seconds: int
    equity: list[Point]
    max_drawdown: Drawdown | None


def curves(*, bot_id: str | None, since: datetime | None = None, until: datetime | None = None) -> Curves:
    """The equity curve of one bot (None: every bot) in since <= time < until."""
    step, series = equity_series(bot_id=bot_id, since=since, until=until)
    points = with_drawdown(series)
    return Curves(step_seconds=step, equity=points, max_drawdown=deepest(points))


def equity_series(
    *, bot_id: str | None, since: datetime | None, until: datetime | None,
) -> tuple[int, list[tuple[datetime, Decimal]]]:
    """(step, points): the equity summed over the bots, each bot's last value carried on. Every
    recorded point when there are at most MAX_POINTS (step 0); else one per `step` seconds of UTC
    time (ten seconds up to a day, the finest that stays under MAX_POINTS): the equity as of the
    end of each step, labelled with its start, each bot's found by one index seek per step."""
    points = EquitySnapshot.objects.all() if bot_id is None else EquitySnapshot.objects.filter(bot_id=bot_id)
    if since is not None:
        points = points.filter(taken_at__gte=since)
    if until is not None:
        points = points.filter(taken_at__lt=until)
    points = points.order_by()
    span = points.aggregate(first=Min("taken_at"), last=Max("taken_at"))
    if span["first"] is None:
        return 0, []
    if points[:MAX_POINTS + 1].count() <= MAX_POINTS:  # counts no further than it needs to
        return 0, _summed(points.order_by("taken_at", "seq").values_list("taken_at", "bot_id", "equity"))
    seconds = (span["last"] - span["first"]).total_seconds()
    step = next((s for s in STEPS if seconds / s <= MAX_POINTS), STEPS[-1])
    first = int(span["first"].timestamp()) // step * step
    last = int(span["last"].timestamp()) // step * step  # the start of the last point's step
    ends = [datetime.fromtimestamp(t, UTC) for t in range(first + step, last + 2 * step, step)]
    bots = sorted(set(points.values_list("bot_id", flat=True).distinct()))
    rows = []
    for bot in bots:
        for end, equity in zip(ends, _last_before(bot, ends, since, until), strict=True):
            if equity is not None:
                rows.append((end - timedelta(seconds=step), bot, equity))
    rows.sort(key=lambda row: row[0])
    return step, _summed(rows)


STEPS = (10, 60, 600, 3600, 86400)


def _summed(rows: Iterable[tuple[datetime, str, Decimal]]) -> list[tuple[datetime, Decimal]]:
    """Time-ordered (time, bot, equity) as one series: at each time, every bot's latest value added up."""
    carried: dict[str, Decimal] = {}
    series: list[tuple[datetime, Decimal]] = []
    for at, bot, equity in rows:
        carried[bot] = equity
        total = sum(carried.values(), Decimal(0))
        if series and series[-1][0] == at:
            series[-1] = (at, total)
        else:
            series.append((at, total))
    return series


def _last_before(
    bot: str, ends: list[datetime], since: datetime | None, until: datetime | None,
) -> list[Decimal | None]:
    """The bot's last equity before each of `ends`, within since <= time < until: one index seek
    each, in one query (the last step may end after `until`: what came after it is not used)."""
    table = EquitySnapshot._meta.db_table
    sqlite = connection.vendor == "sqlite"
    slot = "%s" if sqlite else "CAST(%s AS TIMESTAMP WITH TIME ZONE)"
    adapt = connection.ops.adapt_datetimefield_value
    values = ", ".join(f"({i}, {slot})" for i in range(len(ends)))
    bounds = ("" if since is None else " AND e.taken_at >= %s") + ("" if until is None else " AND e.taken_at < %s")
    # SQLite keeps a decimal as a float: as text it reads back with its 15 digits, as the ORM reads it.
    equity = "CAST(e.equity AS TEXT)" if sqlite else "e.equity"
    sql = f"""
        WITH ends(i, t) AS (VALUES {values})
        SELECT (SELECT {equity} FROM {table} e WHERE e.bot_id = %s AND e.taken_at < ends.t{bounds}
                ORDER BY e.taken_at DESC LIMIT 1)
        FROM ends ORDER BY ends.i
    """  # noqa: S608 - names and placeholders only; every value is a parameter
    params: list[object] = [adapt(end) for end in ends] + [bot]
    params += [adapt(bound) for bound in (since, until) if bound is not None]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [None if value is None else Decimal(str(value)) for (value,) in cursor.fetchall()]


def with_drawdown(series: list[tuple[datetime, Decimal]]) -> list[Point]:
    """Each point with how far it lies below the highest equity before it."""
    peak: Decimal | None = None
    points = []
    for at, equity in series:
        peak = equity if peak is None else max(peak, equity)
        fall = peak - equity
        pct = (fall * 100 / peak).quantize(PCT_STEP, ROUND_HALF_EVEN) if peak > 0 else Decimal(0)
        points.append(Point(at=at, equity=equity, drawdown=fall, drawdown_pct=pct))
    return points


def deepest(points: list[Point]) -> Drawdown | None:
    """The largest drawdown (in percent, then money) with its peak, trough and recovery; None if never below a peak."""
    if not points:
        return None
    bottom = max(range(len(points)), key=lambda i: (points[i].drawdown_pct, points[i].drawdown))
    if points[bottom].drawdown <= 0:
        return None
    peak_value = points[bottom].equity + points[bottom].drawdown
    peak = max(i for i in range(bottom) if points[i].equity == peak_value)
    recovered = next((p.at for p in points[bottom + 1:] if p.equity >= peak_value), None)
    return Drawdown(amount=points[bottom].drawdown, pct=points[bottom].drawdown_pct, peak_at=points[peak].at,
                    trough_at=points[bottom].at, recovered_at=recovered)
