"""How closed trades' results and holding times are spread (selectors): a histogram of realized
P&L with 0 as a bin edge, and closing trades by how long their position was held (since the buy
that opened it, Trade.opened_at), wins and losses apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import BigIntegerField, Case, Count, F, Func, IntegerField, Max, Min, Q, Sum, Value, When

from crypto_bot_ui.analytics.performance import trades_in
from crypto_bot_ui.analytics.sums import UNIT_PLACES, Units

BINS = 20
"""About how many bins the P&L histogram has (widths are 1, 2 or 5 times a power of ten)."""

HOLDING_EDGES = (0, 60, 300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400)
"""Where the holding-time bins start, in seconds; the last has no end."""


@dataclass(frozen=True)
class PnlBin:
    """Closing trades whose realized P&L lies in [low, high)."""

    low: Decimal
    high: Decimal
    count: int


@dataclass(frozen=True)
class HoldingBin:
    """Closing trades whose position was held for [low, high) seconds (high None: no end)."""

    low: int
    high: int | None
    count: int
    wins: int
    losses: int


@dataclass(frozen=True)
class Distribution:
    """The P&L histogram (`width` per bin) and the holding times, with the mean hold of a win and a
    loss in seconds (None without any)."""

    closed: int
    width: Decimal | None
    pnl: list[PnlBin]
    holding: list[HoldingBin]
    mean_win_seconds: int | None
    mean_loss_seconds: int | None


def nice_width(span_units: int, bins: int = BINS) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... units that covers `span_units` in about `bins` bins."""
    raw = max(1, -(-span_units // bins))
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= raw:
                return step * factor
        step *= 10


def distribution(*, bot_id: str | None, since: datetime | None = None, until: datetime | None = None) -> Distribution:
    """The spread of the closing trades (sells) in since <= executed_at < until."""
    closing = trades_in(bot_id=bot_id, since=since, until=until).filter(side="sell")
    span = closing.aggregate(low=Min("realized_pnl"), high=Max("realized_pnl"), closed=Count("id"))
    width: Decimal | None = None
    bins: list[PnlBin] = []
    if span["closed"]:
        places = unit_places(max(abs(span["low"]), abs(span["high"])))
        units = Units("realized_pnl", places)
        low, high = (int((span[end] * 10**places).to_integral_value(ROUND_HALF_UP)) for end in ("low", "high"))
        step = nice_width(high - low)
        base = low // step * step  # a multiple of the width: 0 is always an edge
        rows = dict(closing.annotate(bin=(units - base) / step).values("bin").annotate(n=Count("id"))
                    .values_list("bin", "n"))
        width = Decimal(step).scaleb(-places)
        edge = Decimal(base).scaleb(-places)
        bins = [PnlBin(low=edge + i * width, high=edge + (i + 1) * width, count=rows.get(i, 0))
                for i in range((high - base) // step + 1)]
    holding, win_seconds, loss_seconds = _holding(bot_id=bot_id, since=since, until=until)
    wins, losses = sum(b.wins for b in holding), sum(b.losses for b in holding)
    return Distribution(
        closed=span["closed"], width=width, pnl=bins, holding=holding,
        mean_win_seconds=win_seconds // wins if wins else None,
        mean_loss_seconds=loss_seconds // losses if losses else None,
    )


def unit_places(biggest: Decimal) -> int:
    """The places (at most the bot's 8) the histogram counts amounts up to `biggest` in: few enough
    that every amount in units stays below 1e15, a 64-bit integer a float still counts exactly."""
    places = UNIT_PLACES
    while places > 0 and biggest * 10**places >= Decimal("1e15"):
        places -= 1
    return places


class HeldSeconds(Func):
    """Whole seconds from a fill's `opened_at` to its `executed_at`."""

    output_field = BigIntegerField()

    def __init__(self) -> None:
        super().__init__(F("executed_at"), F("opened_at"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        """PostgreSQL: the interval's seconds."""
        return super().as_sql(compiler, connection, arg_joiner=" - ",
                              template="CAST(ROUND(EXTRACT(EPOCH FROM (%(expressions)s))) AS BIGINT)", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        """SQLite: from julian days (floats: 630 s comes back as 629.99..., hence the rounding)."""
        return super().as_sql(compiler, connection, arg_joiner=") - julianday(",
                              template="CAST(ROUND((julianday(%(expressions)s)) * 86400.0) AS INTEGER)", **extra)


def _holding(
    *, bot_id: str | None, since: datetime | None, until: datetime | None,
) -> tuple[list[HoldingBin], int, int]:
    """Closing trades per holding-time bin, and the seconds held by all wins and by all losses: one
    grouped pass over the sells (each knows when its position was opened: Trade.opened_at)."""
    held = HeldSeconds()
    bins = Case(*(When(held__lt=edge, then=Value(i - 1)) for i, edge in enumerate(HOLDING_EDGES) if i > 0),
                default=Value(len(HOLDING_EDGES) - 1), output_field=IntegerField())
    closes = trades_in(bot_id=bot_id, since=since, until=until).filter(side="sell", opened_at__isnull=False)
    rows = (closes.annotate(held=held).annotate(bin=bins).values("bin")
            .annotate(count=Count("id"), wins=Count("id", filter=Q(realized_pnl__gt=0)),
                      losses=Count("id", filter=Q(realized_pnl__lt=0)),
                      won_for=Sum("held", filter=Q(realized_pnl__gt=0)),
                      lost_for=Sum("held", filter=Q(realized_pnl__lt=0)))
            .values_list("bin", "count", "wins", "losses", "won_for", "lost_for"))
    found = {row[0]: row[1:] for row in rows}
    result, win_seconds, loss_seconds = [], 0, 0
    for i, low in enumerate(HOLDING_EDGES):
        count, wins, losses, won_for, lost_for = found.get(i, (0, 0, 0, 0, 0))
        high = HOLDING_EDGES[i + 1] if i + 1 < len(HOLDING_EDGES) else None
        result.append(HoldingBin(low=low, high=high, count=count, wins=wins, losses=losses))
        win_seconds += int(won_for or 0)
        loss_seconds += int(lost_for or 0)
    return result, win_seconds, loss_seconds
