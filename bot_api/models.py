"""Shared pydantic base classes and field types for every message in the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC; serialised as ISO-8601 with `Z`."""

def _plain_decimal(value: Decimal) -> str:
    # Positional notation always: str(Decimal("1E-8")) would put "1E-8" on the wire.
    return format(value, "f")


def _no_float(value: object) -> object:
    # A JSON float has already lost precision by the time it is parsed: refuse it.
    if isinstance(value, float | bool):
        raise ValueError("money must be a decimal string, not a JSON number")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(allow_inf_nan=False),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
]
"""A finite Decimal; travels as a plain decimal string ("0.00000001") so no precision is lost."""

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$")]
"""An exchange symbol such as BTCUSDT."""


def over_bytes(raw: str | bytes, limit: int) -> bool:
    """Whether `raw` takes more than `limit` bytes in UTF-8: a limit on characters would let 4-byte
    characters through at four times the size. Encoded only when it might be over."""
    if isinstance(raw, bytes):
        return len(raw) > limit
    return len(raw) > limit or (len(raw) * 4 > limit and len(raw.encode("utf-8", "surrogatepass")) > limit)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class ContractModel(BaseModel):
    """Base of every contract model: immutable and strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
