"""The chart's candles in Redis: seeded at start (Binance klines, or what Redis kept), written as they change."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.candles import CandleBook
from bot.errors import ExchangeError
from bot.exchange.rest import BinanceRest
from bot_api.candles import Candle, parse_candles
from bot_api.errors import ContractError
from bot_api.keys import RedisKeys

logger = logging.getLogger(__name__)

WRITE_INTERVAL = 2.0
"""Seconds between writes of changed candles (the page extends the last one live meanwhile)."""
KLINES = 1000
"""Binance's largest kline page: about 16.7 h of 1-minute candles (the 24 h change's reference is
then that old until the bot has watched a full day)."""
SEED_TIMEOUT = 5.0
"""Start-up never waits longer than this for history: a chart can start empty, trading cannot wait."""


async def seed_candles(
    book: CandleBook, redis: Redis, keys: RedisKeys, symbols: tuple[str, ...], rest: BinanceRest | None
) -> None:
    """Fill `book` before the first tick: Binance's own 1-minute klines if possible, else Redis."""
    if rest is not None and book.interval == 60:
        try:
            async with asyncio.timeout(SEED_TIMEOUT):
                await _seed_from_klines(book, rest, symbols)
            return
        except (ExchangeError, TimeoutError, ValueError, IndexError, ArithmeticError) as exc:
            logger.warning("no kline history from Binance (%s); using what Redis kept", exc)
    try:
        async with asyncio.timeout(SEED_TIMEOUT):
            raw = await redis.get(keys.candles_key)
        if raw is not None:
            stored = parse_candles(raw)
            logger.info("restored %d candle(s) from Redis", book.seed(stored.interval, stored.symbols))
    except (RedisError, OSError, TimeoutError, ContractError) as exc:
        logger.warning("no stored candles (%s); the chart starts empty", exc)


async def _seed_from_klines(book: CandleBook, rest: BinanceRest, symbols: tuple[str, ...]) -> None:
    for symbol in symbols:
        rows = await rest.call("klines", rest.client.get_klines, symbol=symbol, interval="1m", limit=KLINES)
        candles = [Candle(time=int(r[0]) // 1000, open=Decimal(r[1]), high=Decimal(r[2]),
                          low=Decimal(r[3]), close=Decimal(r[4])) for r in rows]
        book.seed(60, {symbol: candles})


async def candle_loop(book: CandleBook, redis: Redis, keys: RedisKeys) -> None:
    """Write the candles to Redis whenever they changed, at most every WRITE_INTERVAL."""
    while True:
        await asyncio.sleep(WRITE_INTERVAL)
        await write_candles(book, redis, keys)


async def write_candles(book: CandleBook, redis: Redis, keys: RedisKeys) -> None:
    """Write the candles if they changed since the last write (kept for next time if Redis fails)."""
    if not book.changed:
        return
    book.changed = False
    try:
        await redis.set(keys.candles_key, book.data().model_dump_json())
    except (RedisError, OSError) as exc:
        book.changed = True  # written next time
        logger.warning("candles not written: %s", exc)
