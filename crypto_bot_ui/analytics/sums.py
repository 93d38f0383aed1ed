"""Exact money sums in the database, on PostgreSQL and on SQLite alike.

PostgreSQL sums its NUMERIC columns exactly. SQLite keeps a decimal column as a binary float (15
significant digits), and its SUM adds floats: a day's P&L would come back as 12.299999999999. So on
SQLite each amount is summed in two integer parts, SQLite's exact 64-bit sums: its whole units, and
its fraction in units of 1e-8 (the bot's money step) to the places SQLite holds (15 significant
digits: all 8 below 1e7). The total is then exactly the sum of the amounts as Django reads them back
(but for a tie at the 15th digit, which Django rounds to even and SQLite away from zero). Neither
part overflows before a total of 9e18.
"""

from __future__ import annotations

import calendar
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, CharField, Expression, F, Func, Q, Sum, Value
from django.db.models.functions import Cast

UNIT_PLACES = 8
"""Money is summed on SQLite in units of 10**-UNIT_PLACES."""


class Units(Func):
    """An amount as whole units of 10**-places (rounded half away from zero), a 64-bit integer: keep
    |amount| * 10**places below 9e15 (where a float still counts in ones)."""

    output_field = BigIntegerField()

    def __init__(self, expression: str | Expression, places: int = UNIT_PLACES) -> None:
        super().__init__(F(expression) if isinstance(expression, str) else expression)
        self.places = places

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        """ROUND(x * 10**places), as a BIGINT."""
        return super().as_sql(compiler, connection, template=(
            f"CAST(ROUND(%(expressions)s * {10 ** self.places}) AS BIGINT)"), **extra)


class _Fraction(Func):
    """SQLite: an amount's fraction (x minus its whole units, toward zero) in units of 1e-8, to the
    places SQLite holds of it: 15 significant digits in all, as Django reads a stored amount back
    (1234567.12345678 keeps 8 places, 123456789.123 six), so a sum is the sum of what a page reads."""

    # Below 1e7 (every real amount) all 8 places are held: the short way, without the digit count.
    template = ("CASE WHEN ABS(%(expressions)s) < 10000000 "
                "THEN CAST(ROUND((%(expressions)s - CAST(%(expressions)s AS INTEGER)) * 100000000) AS INTEGER) "
                "ELSE CAST(ROUND(ROUND(%(expressions)s - CAST(%(expressions)s AS INTEGER), "
                "MAX(0, MIN(8, 15 - length(CAST(ABS(CAST(%(expressions)s AS INTEGER)) AS TEXT))))) * 100000000) "
                "AS INTEGER) END")
    output_field = BigIntegerField()


def exact() -> bool:
    """Whether the database sums decimals exactly itself (PostgreSQL), or needs units (SQLite)."""
    return connection.vendor != "sqlite"


def money_sum(field: str, *, filter: Q | None = None) -> Sum | Func:
    """SUM of a money column, exact on every database; read the result with `money`."""
    if exact():
        return Sum(F(field), filter=filter)
    whole = Sum(Cast(F(field), BigIntegerField()), filter=filter)
    fraction = Sum(_Fraction(F(field)), filter=filter)
    # "whole:fraction" (NULL when nothing was summed): `money`/`split_total` read it.
    return Func(whole, Value(":"), fraction, template="(%(expressions)s)", arg_joiner=" || ", output_field=CharField())


def money(value: Any) -> Decimal:
    """A `money_sum` result as a Decimal (0 for the empty sum's NULL)."""
    total = split_total(value)
    return total if isinstance(total, Decimal) else Decimal(total)


def split_total(value: Any) -> Any:
    """A raw money sum as an exact Decimal (SQLite's "whole:fraction" text read; PostgreSQL's Decimal
    kept; None the empty sum's 0); anything else (a count) as it is."""
    if isinstance(value, str) and ":" in value:
        whole, fraction = value.split(":")
        return Decimal(int(whole)) + Decimal(int(fraction)).scaleb(-UNIT_PLACES)
    return Decimal(0) if value is None else value


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
