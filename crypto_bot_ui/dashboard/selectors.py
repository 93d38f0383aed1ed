"""Reads of what the bot keeps in Redis (its snapshot and its chart's candles), for REST views."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from redis.exceptions import RedisError

from bot_api.candles import HOUR, Candle, parse_candles
from bot_api.errors import ContractError, TransportError
from bot_api.events import BotSummaryData, StatusEvent
from bot_api.registry import BotSeen, discover_blocking
from bot_api.stored import parse_snapshot
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis
from crypto_bot_ui.dashboard.summaries import summary_of

logger = logging.getLogger(__name__)


class BotDataUnavailableError(Exception):
    """Redis does not answer, or holds nothing valid yet. Retryable: the bot writes it again."""


def current_snapshot(bot_id: str | None = None) -> StatusEvent:
    """The bot's latest `status` envelope (the first frame a socket gets); raise BotDataUnavailableError.

    `bot_id`: which bot (default: the default bot, BOT_ID)."""
    try:
        raw = sync_redis().get(bot_keys(bot_id).status_key)
    except (RedisError, OSError) as exc:
        raise BotDataUnavailableError(f"Redis: {exc}") from exc
    if raw is None:
        raise BotDataUnavailableError("the bot has not published a snapshot yet")
    try:
        return parse_snapshot(raw)
    except ContractError as exc:
        logger.warning("the stored snapshot is unusable: %s", exc.message)
        raise BotDataUnavailableError("the stored snapshot is not readable") from exc


def bot_symbols(bot_id: str | None = None) -> list[str]:
    """The symbols the bot trades now, from its snapshot; raise BotDataUnavailableError."""
    return list(current_snapshot(bot_id).data.symbols)


def not_a_symbol(symbol: str, known: Iterable[str]) -> str:
    """Why `symbol` is refused, for people: the symbols there are, named."""
    return f"{symbol} is not a symbol of this bot; it has: {', '.join(sorted(known)) or 'none yet'}"


def candles_of(symbol: str, timeframe: int = 60, bot_id: str | None = None) -> tuple[int | None, list[Candle]]:
    """(seconds per candle, the candles oldest first) of `symbol` to draw a chart of `timeframe`
    seconds from: the hour book from an hour up (when the bot keeps one), else the base candles;
    (None, []) before any."""
    keys = bot_keys(bot_id)
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


def known_bots() -> list[BotSeen]:
    """Every bot in the registry (online or not), by id; raise BotDataUnavailableError."""
    try:
        return discover_blocking(sync_redis(), bot_keys())
    except TransportError as exc:
        raise BotDataUnavailableError(str(exc)) from exc


def is_known_bot(bot_id: str) -> bool:
    """Whether `bot_id` names a registered bot or the default one (a page or filter may name it)."""
    return bot_id == settings.BOT_ID or any(bot.bot_id == bot_id for bot in known_bots())


def bot_overview() -> list[tuple[str, BotSummaryData]]:
    """(id, summary) of every registered bot, by id, from the registry and each bot's snapshot;
    raise BotDataUnavailableError when Redis does not answer."""
    return [(bot.bot_id, summary_of(status, online=bot.online, last_seen=bot.last_seen))
            for bot, status in bot_snapshots()]


def bot_snapshots() -> list[tuple[BotSeen, StatusEvent | None]]:
    """Every registered bot, by id, with its latest snapshot (None: none, or unreadable), in one
    read of Redis; raise BotDataUnavailableError when Redis does not answer."""
    bots = known_bots()
    if not bots:
        return []
    try:
        raws = sync_redis().mget([bot_keys(bot.bot_id).status_key for bot in bots])
    except (RedisError, OSError) as exc:
        raise BotDataUnavailableError(f"Redis: {exc}") from exc
    snapshots = []
    for bot, raw in zip(bots, raws, strict=True):
        status = None
        if raw is not None:
            try:
                status = parse_snapshot(raw)
            except ContractError as exc:
                logger.warning("the stored snapshot of %s is unusable: %s", bot.bot_id, exc.message)
        snapshots.append((bot, status))
    return snapshots
