"""Chart data: OHLC candles of each symbol, written by the bot to Redis, read by the web's API.

The bot keeps two books: candles of CANDLE_INTERVAL seconds (1 minute by default) for the last
day, and hour candles for the last 30 days. The page aggregates them into its timeframes itself:
the base candles below an hour, the hour candles from an hour up.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError

from bot_api.errors import ContractError
from bot_api.models import ContractModel, Money

MAX_CANDLES = 1441
"""Candles kept per symbol and book: a day of 1-minute candles plus the current one (about 130 KB
of JSON per symbol)."""
HOUR = 3600
"""Seconds per candle of the long book."""
HOUR_CANDLES = 721
"""Hour candles kept per symbol: 30 days plus the current one."""
TIMEFRAMES = (60, 300, 900, 3600, 14_400, 86_400)
"""The chart's timeframes in seconds (1m, 5m, 15m, 1h, 4h, 1d)."""


class Candle(ContractModel):
    """One interval of prices; `time` is its start in Unix seconds (UTC), as charting libraries take it."""

    time: Annotated[int, Field(ge=0)]
    open: Money
    high: Money
    low: Money
    close: Money


class CandlesData(ContractModel):
    """The recent candles of every symbol, oldest first, `interval` seconds each."""

    v: int = 1
    interval: Annotated[int, Field(ge=1)]
    symbols: dict[str, Annotated[list[Candle], Field(max_length=MAX_CANDLES)]]


def parse_candles(raw: str | bytes) -> CandlesData:
    """Validate candles read from Redis; raise ContractError `invalid_candles` (not retryable)."""
    try:
        return CandlesData.model_validate_json(raw)
    except ValidationError as exc:
        raise ContractError("invalid_candles", str(exc.errors(include_url=False)[0]["msg"])) from None
