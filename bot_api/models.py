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


MONEY_DIGITS = 32
MONEY_PLACES = 12
"""Money as the database keeps it (`DecimalField(max_digits=32, decimal_places=12)`): the column
holds amounts below 1E+20; places beyond 12 are rounded by it, as with any stored decimal."""
MONEY_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES - 2)
"""Every amount in the contract is below this (1E+18) in magnitude, so the recorder can store
whatever it is given and read it back. Two digits below the column's limit: SQLite keeps a decimal
as a float, rounded past 15-17 digits, and a value just under 1E+20 would come back as 1E+20."""


def _storable(value: Decimal) -> Decimal:
    # Beyond this nothing is a real amount; PostgreSQL would refuse the row and SQLite keep a
    # float that no longer reads back as a decimal.
    if value.copy_abs() >= MONEY_LIMIT:  # copy_abs: abs() would round to 28 digits first
        raise ValueError("money must be below 1E+18 in magnitude")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(allow_inf_nan=False),
    AfterValidator(_storable),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
]
"""A finite Decimal below 1E+18 in magnitude; travels as a plain decimal string ("0.00000001") so
no precision is lost."""

CENT_ASSETS = frozenset({"USDT", "USDC", "FDUSD", "TUSD", "BUSD", "DAI", "USD", "EUR", "GBP", "TRY", "BRL"})
"""Quote assets whose money pages show in cents; any other (BTC, ETH, BNB...) is shown to 8 decimals."""


def display_decimals(quote_asset: str) -> int:
    """Decimals pages show money in: 2 for fiat and stablecoins, 8 for a crypto quote asset."""
    return 2 if quote_asset in CENT_ASSETS else 8


MAX_SEQ = 2**53 - 1
"""The highest seq any message may carry: exact in a browser's numbers (and in a BIGINT column)."""

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$")]
"""An exchange symbol such as BTCUSDT."""

BOT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
"""What a bot id may be: it is embedded in Redis names and URLs."""
BotId = Annotated[str, Field(pattern=BOT_ID_PATTERN)]


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
