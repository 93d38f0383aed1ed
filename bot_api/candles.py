"""Chart data: OHLC candles of each symbol, written by the bot to Redis, read by the web's API."""

from __future__ import annotations

import logging
from typing import Annotated

from pydantic import Field, ValidationError

from bot_api.errors import ContractError
from bot_api.models import ContractModel, Money

logger = logging.getLogger(__name__)

MAX_CANDLES = 500
"""Candles kept in Redis per symbol (the chart's history)."""


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
