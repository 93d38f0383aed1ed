"""Reads of what the bot keeps in Redis (its snapshot and its chart's candles), for REST views."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from bot_api.candles import Candle, parse_candles
from bot_api.errors import ContractError
from bot_api.events import StatusEvent, parse_event
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis

logger = logging.getLogger(__name__)


class BotDataUnavailableError(Exception):
    """Redis does not answer, or holds nothing valid yet. Retryable: the bot writes it again."""


def current_snapshot() -> StatusEvent:
    """The bot's latest `status` envelope (the first frame a socket gets); raise BotDataUnavailableError."""
    try:
        raw = sync_redis().get(bot_keys().status_key)
    except (RedisError, OSError) as exc:
        raise BotDataUnavailableError(f"Redis: {exc}") from exc
    if raw is None:
        raise BotDataUnavailableError("the bot has not published a snapshot yet")
    try:
        event = parse_event(raw)
    except ContractError as exc:
        logger.warning("the stored snapshot is off-contract: %s", exc.message)
        raise BotDataUnavailableError("the stored snapshot is not readable") from exc
    if not isinstance(event, StatusEvent):
        raise BotDataUnavailableError("the stored snapshot is not a status")
    return event


def candles_of(symbol: str) -> tuple[int | None, list[Candle]]:
    """(seconds per candle, the candles oldest first) of `symbol`; (None, []) before any."""
    try:
        raw = sync_redis().get(bot_keys().candles_key)
    except (RedisError, OSError) as exc:
        raise BotDataUnavailableError(f"Redis: {exc}") from exc
    if raw is None:
        return None, []
    try:
        data = parse_candles(raw)
    except ContractError as exc:
        logger.warning("stored candles are off-contract: %s", exc.message)
        return None, []
    return data.interval, list(data.symbols.get(symbol, []))

