"""The chart's candles: seeded from an exchange's klines (Binance's, fake server) or from Redis, written back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot import chart
from bot.candles import ChartCandles
from bot.exchange.binance.klines import BinanceKlines
from bot.exchange.binance.rest import BinanceRest
from bot.exchange.sim import NoKlines
from bot_api.candles import Candle, CandlesData, parse_candles
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from tests.bot.exchange.binance.fake_binance import FakeBinance


async def test_binance_klines_seed_a_day_of_minutes_and_a_month_of_hours(
    rest: BinanceRest, fake: FakeBinance, redis_url: str, redis_prefix: str
) -> None:
    candles = ChartCandles(60)
    redis = connect(redis_url)
    try:
        await chart.seed_candles(candles, redis, RedisKeys(prefix=redis_prefix), ("BTCUSDT", "ETHUSDT"),
                                 BinanceKlines(rest))
    finally:
        await redis.aclose()
    assert candles.hour is not None
    assert fake.calls("/api/v3/klines") == 2 * 3  # per symbol: two pages of minutes, one of hours
    minutes = candles.base.data().symbols["BTCUSDT"]
    assert len(minutes) == 1441 and minutes[-1].close == fake.prices["BTCUSDT"]
    assert [b.time - a.time for a, b in itertools.pairwise(minutes)] == [60] * 1440  # the pages join up
    assert len(candles.hour.data().symbols["ETHUSDT"]) == 721
    now = datetime.now(UTC)
    # A real 24 h change: its reference is a day old.
    assert now - candles.market(now)["ETHUSDT"].since < timedelta(hours=24, minutes=1)


async def test_without_klines_the_candles_redis_kept_are_used(redis_url: str, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    minute = Candle(time=1_700_000_040, open=Decimal(1), high=Decimal(2), low=Decimal(1), close=Decimal(2))
    hour = minute.model_copy(update={"time": 1_699_999_200})
    redis = connect(redis_url)
    try:
        await redis.set(keys.candles_key, CandlesData(interval=60, symbols={
            "BTCUSDT": [minute], "XRPUSDT": [minute]}).model_dump_json())
        await redis.set(keys.hour_candles_key, CandlesData(interval=3600, symbols={
            "BTCUSDT": [hour]}).model_dump_json())
        candles = ChartCandles(60)
        await chart.seed_candles(candles, redis, keys, ("BTCUSDT",), NoKlines())
        assert candles.base.data().symbols == {"BTCUSDT": [minute]}  # a symbol no longer traded is left out
        assert candles.hour is not None and candles.hour.data().symbols == {"BTCUSDT": [hour]}
        other = ChartCandles(5)  # another CANDLE_INTERVAL: the stored minutes do not fit
        await chart.seed_candles(other, redis, keys, ("BTCUSDT",), NoKlines())
        assert other.base.data().symbols == {} and other.hour is not None and other.hour.has("BTCUSDT")
    finally:
        await redis.aclose()


async def test_candles_are_written_to_redis_and_restored_by_the_next_bot(redis_url: str, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    redis = connect(redis_url)
    candles = ChartCandles(5)
    candles.update("BTCUSDT", Decimal(7), datetime.now(UTC))
    assert candles.hour is not None
    try:
        await chart.write_candles(candles, redis, keys)
        raw, raw_hours = await redis.mget([keys.candles_key, keys.hour_candles_key])
        assert raw is not None and parse_candles(raw) == candles.base.data() and not candles.base.changed
        assert raw_hours is not None and parse_candles(raw_hours) == candles.hour.data()
        await redis.delete(keys.candles_key, keys.hour_candles_key)
        await chart.write_candles(candles, redis, keys)  # unchanged: not written again
        assert await redis.exists(keys.candles_key, keys.hour_candles_key) == 0
        candles.update("BTCUSDT", Decimal(8), datetime.now(UTC))
        await chart.write_candles(candles, redis, keys)
        again = ChartCandles(5)
        await chart.seed_candles(again, redis, keys, ("BTCUSDT",), NoKlines())
        assert again.base.data() == candles.base.data()
        assert again.hour is not None and again.hour.data() == candles.hour.data()
    finally:
        await redis.aclose()
