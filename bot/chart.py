"""The chart's candles in Redis: seeded at start (Binance klines, or what Redis kept), written as they change."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.candles import CandleBook, ChartCandles
from bot.errors import ExchangeError
from bot.exchange.rest import BinanceRest
from bot_api.candles import HOUR, Candle, parse_candles
from bot_api.errors import ContractError
from bot_api.keys import RedisKeys

logger = logging.getLogger(__name__)

WRITE_INTERVAL = 2.0
"""Seconds between writes of changed candles (the page extends the last one live meanwhile)."""
KLINES_PAGE = 1000
"""Binance's largest kline page; a day of 1-minute candles (1441 with the current one) takes two."""
KLINE_INTERVALS = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", HOUR: "1h"}
"""Book intervals Binance has klines of, by their name in `GET /api/v3/klines`."""
SEED_TIMEOUT = 5.0
"""Start-up never waits longer than this for history: a chart can start empty, trading cannot wait."""


async def seed_candles(
    candles: ChartCandles, redis: Redis, keys: RedisKeys, symbols: tuple[str, ...], rest: BinanceRest | None
) -> None:
    """Fill the books before the first tick: Binance's own klines where possible, then what Redis kept."""
    if rest is not None:
        try:
            async with asyncio.timeout(SEED_TIMEOUT):
                await _seed_from_klines(candles, rest, symbols)
        except (ExchangeError, TimeoutError, ValueError, IndexError, ArithmeticError) as exc:
            logger.warning("no (full) kline history from Binance (%s); using what Redis kept", exc)
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


async def _seed_from_klines(candles: ChartCandles, rest: BinanceRest, symbols: tuple[str, ...]) -> None:
    for book in candles.books:
        if book.interval not in KLINE_INTERVALS:
            continue
        for symbol in symbols:
            book.seed(book.interval, {symbol: await _klines(rest, symbol, book)})


async def _klines(rest: BinanceRest, symbol: str, book: CandleBook) -> list[Candle]:
    """The last `book.keep` klines of `symbol`, oldest first, paging back from now (bounded by keep)."""
    candles: list[Candle] = []
    end_ms: int | None = None
    while len(candles) < book.keep:
        limit = min(KLINES_PAGE, book.keep - len(candles))
        more = {} if end_ms is None else {"endTime": end_ms}
        rows = await rest.call("klines", rest.client.get_klines, symbol=symbol,
                               interval=KLINE_INTERVALS[book.interval], limit=limit, **more)
        page = [Candle(time=int(r[0]) // 1000, open=Decimal(r[1]), high=Decimal(r[2]),
                       low=Decimal(r[3]), close=Decimal(r[4])) for r in rows]
        candles = page + candles
        if len(page) < limit:
            break  # the symbol's whole history
        end_ms = page[0].time * 1000 - 1
    return candles


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
