"""Exact money sums in the database, on PostgreSQL and on SQLite alike.

PostgreSQL sums its NUMERIC columns exactly. SQLite keeps a decimal column as a binary float (15
significant digits), and its SUM adds floats: a day's P&L would come back as 12.299999999999. So on
SQLite each amount is first turned into whole units of 1e-8 (the bot's money step; exact for any
amount below 1e7 with at most 8 places) and the integers are summed, which SQLite does exactly.
"""

from __future__ import annotations

import calendar
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, CharField, Expression, F, Func, Q, Sum

UNIT_PLACES = 8
"""Money is summed on SQLite in units of 10**-UNIT_PLACES."""


class Units(Func):
    """An amount as whole units of 1e-8 (rounded half away from zero), a 64-bit integer."""

    template = "CAST(ROUND(%(expressions)s * 100000000) AS BIGINT)"
    output_field = BigIntegerField()


def exact() -> bool:
    """Whether the database sums decimals exactly itself (PostgreSQL), or needs units (SQLite)."""
    return connection.vendor != "sqlite"


def money_sum(field: str | Expression, *, filter: Q | None = None) -> Sum:
    """SUM of a money column, exact on every database; read the result with `money`."""
    expression = F(field) if isinstance(field, str) else field
    if exact():
        return Sum(expression, filter=filter)
    return Sum(Units(expression), filter=filter, output_field=BigIntegerField())


def money(value: Any) -> Decimal:
    """A `money_sum` result as a Decimal (0 for the empty sum's NULL)."""
    if value is None:
        return Decimal(0)
    if exact():
        return value if isinstance(value, Decimal) else Decimal(str(value))
    return Decimal(int(value)).scaleb(-UNIT_PLACES)


TEXT_SLICES = {1: 19, 10: 18, 60: 16, 600: 15, 3600: 13, 86400: 10}
"""Slice lengths SQLite cuts from its stored UTC text ("2026-03-29 01:15:07.25"): the characters
that name a slice of that length (its second, ten seconds, minute, ten minutes, hour, day)."""


class TimeSlice(Func):
    """Which `seconds`-long slice of UTC time a timestamp falls in (one of TEXT_SLICES): an
    integer on PostgreSQL, the slice's leading text on SQLite; `slice_start` reads either."""

    def __init__(self, expression: str | Expression, seconds: int) -> None:
        if seconds not in TEXT_SLICES:
            raise ValueError(f"a slice of {seconds} s is not one of {sorted(TEXT_SLICES)}")
        super().__init__(F(expression) if isinstance(expression, str) else expression, output_field=CharField())
        self.seconds = seconds

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        """PostgreSQL: floor(epoch / seconds), as text (one output type for both databases)."""
        return super().as_sql(compiler, connection, template=(
            f"CAST(CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {self.seconds}) AS BIGINT) AS TEXT)"), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        """SQLite: the leading characters of the stored text; cutting text is several times faster
        than strftime('%%s') (which would also round .9999995 up to the next second)."""
        return super().as_sql(compiler, connection, template=f"substr(%(expressions)s, 1, {TEXT_SLICES[self.seconds]})",
                              **extra)


def slice_start(value: str, seconds: int) -> int:
    """The Unix time a TimeSlice value starts at."""
    if value.isdigit():
        return int(value) * seconds
    # "YYYY-MM-DD HH:M" and the like: the missing digits are zeros.
    text = value + "0000-01-01 00:00:00"[len(value):]
    return calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                            int(text[17:19]), 0, 0, 0))
