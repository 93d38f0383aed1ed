"""Reads of what the bot keeps in Redis (its snapshot and its chart's candles), for REST views."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.exceptions import RedisError

from bot_api.candles import HOUR, Candle, parse_candles
from bot_api.errors import ContractError
from bot_api.events import StatusEvent
from bot_api.stored import parse_snapshot
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
        return parse_snapshot(raw)
    except ContractError as exc:
        logger.warning("the stored snapshot is unusable: %s", exc.message)
        raise BotDataUnavailableError("the stored snapshot is not readable") from exc


def bot_symbols() -> list[str]:
    """The symbols the bot trades now, from its snapshot; raise BotDataUnavailableError."""
    return list(current_snapshot().data.symbols)


def not_a_symbol(symbol: str, known: Iterable[str]) -> str:
    """Why `symbol` is refused, for people: the symbols there are, named."""
    return f"{symbol} is not a symbol of this bot; it has: {', '.join(sorted(known)) or 'none yet'}"


def candles_of(symbol: str, timeframe: int = 60) -> tuple[int | None, list[Candle]]:
    """(seconds per candle, the candles oldest first) of `symbol` to draw a chart of `timeframe`
    seconds from: the hour book from an hour up (when the bot keeps one), else the base candles;
    (None, []) before any."""
    keys = bot_keys()
    try:
        client = sync_redis()
        raw = client.get(keys.hour_candles_key) if timeframe >= HOUR else None
        if raw is None:
            raw = client.get(keys.candles_key)
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
