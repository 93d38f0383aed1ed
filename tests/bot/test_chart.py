"""The chart's candles: seeded from Binance klines (fake server) or from Redis, written back as they change."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot import chart
from bot.candles import CandleBook
from bot.exchange.rest import BinanceRest
from bot_api.candles import parse_candles
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from tests.bot.exchange.fake_binance import FakeBinance


async def test_binance_klines_seed_the_chart(rest: BinanceRest, fake: FakeBinance, redis_url: str,
                                             redis_prefix: str) -> None:
    book = CandleBook(60)
    redis = connect(redis_url)
    try:
        await chart.seed_candles(book, redis, RedisKeys(prefix=redis_prefix), ("BTCUSDT", "ETHUSDT"), rest)
    finally:
        await redis.aclose()
    candles = book.data().symbols
    assert fake.calls("/api/v3/klines") == 2
    assert len(candles["BTCUSDT"]) == 500 and candles["BTCUSDT"][-1].close == fake.prices["BTCUSDT"]
    assert book.market(datetime.now(UTC))["ETHUSDT"].open_24h == fake.prices["ETHUSDT"]


async def test_candles_are_written_to_redis_and_restored_by_the_next_bot(redis_url: str, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    redis = connect(redis_url)
    book = CandleBook(5)
    book.update("BTCUSDT", Decimal(7), datetime.now(UTC))
    try:
        await chart.write_candles(book, redis, keys)
        raw = await redis.get(keys.candles_key)
        assert raw is not None and parse_candles(raw) == book.data() and not book.changed
        await redis.delete(keys.candles_key)
        await chart.write_candles(book, redis, keys)  # unchanged: not written again
        assert await redis.get(keys.candles_key) is None
        await chart.write_candles(book, redis, keys)
        book.update("BTCUSDT", Decimal(8), datetime.now(UTC))
        await chart.write_candles(book, redis, keys)
        again = CandleBook(5)
        await chart.seed_candles(again, redis, keys, ("BTCUSDT",), None)
        assert again.data() == book.data()
    finally:
        await redis.aclose()
