"""The chart's candles in Redis: seeded at start (the exchange's klines, or what Redis kept), written as they change."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.candles import ChartCandles
from bot.errors import ExchangeError
from bot.exchange.base import KlineSource
from bot_api.candles import parse_candles
from bot_api.errors import ContractError
from bot_api.keys import RedisKeys

logger = logging.getLogger(__name__)

WRITE_INTERVAL = 2.0
"""Seconds between writes of changed candles (the page extends the last one live meanwhile)."""
SEED_TIMEOUT = 5.0
"""Start-up never waits longer than this for history: a chart can start empty, trading cannot wait."""


async def seed_candles(
    candles: ChartCandles, redis: Redis, keys: RedisKeys, symbols: tuple[str, ...], history: KlineSource
) -> None:
    """Fill the books before the first tick: the exchange's own klines where it has them, then what Redis kept."""
    if any(book.interval in history.intervals for book in candles.books):
        try:
            async with asyncio.timeout(SEED_TIMEOUT):
                await _seed_from_klines(candles, history, symbols)
        except (ExchangeError, TimeoutError) as exc:
            logger.warning("no (full) kline history from the exchange (%s); using what Redis kept", exc)
    if all(book.has(s) for book in candles.books for s in symbols):
        return
    stored_keys = [keys.candles_key, keys.hour_candles_key]
    try:
        async with asyncio.timeout(SEED_TIMEOUT):
            raws = await redis.mget(stored_keys)
        for book, raw in zip((candles.base, candles.hour), raws, strict=True):
            if book is None or raw is None:
                continue
            stored = parse_candles(raw)
            # Only the symbols traded now: one removed from SYMBOLS is not written back forever.
            taken = book.seed(stored.interval, {s: c for s, c in stored.symbols.items() if s in symbols})
            logger.info("restored %d candle(s) of %d s from Redis", taken, book.interval)
    except (RedisError, OSError, TimeoutError, ContractError) as exc:
        logger.warning("no stored candles (%s); the chart starts empty", exc)


async def _seed_from_klines(candles: ChartCandles, history: KlineSource, symbols: tuple[str, ...]) -> None:
    for book in candles.books:
        if book.interval not in history.intervals:
            continue
        for symbol in symbols:
            book.seed(book.interval, {symbol: await history.klines(symbol, book.interval, book.keep)})


async def candle_loop(candles: ChartCandles, redis: Redis, keys: RedisKeys) -> None:
    """Write the candles to Redis whenever they changed, at most every WRITE_INTERVAL."""
    while True:
        await asyncio.sleep(WRITE_INTERVAL)
        await write_candles(candles, redis, keys)


async def write_candles(candles: ChartCandles, redis: Redis, keys: RedisKeys) -> None:
    """Write the books that changed since the last write, in one round trip (kept for next time if Redis fails)."""
    named = ((keys.candles_key, candles.base), (keys.hour_candles_key, candles.hour))
    changed = [(key, book) for key, book in named if book is not None and book.changed]
    if not changed:
        return
    for _, book in changed:
        book.changed = False
    try:
        await redis.mset({key: book.json() for key, book in changed})
    except (RedisError, OSError) as exc:
        for _, book in changed:
            book.changed = True  # written next time
        logger.warning("candles not written: %s", exc)
