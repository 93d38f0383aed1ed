"""Candles from the bot's prices: OHLC per interval, two books, the 24 h reference, seeding from history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.candles import CandleBook, ChartCandles
from bot_api.candles import Candle, CandlesData, parse_candles

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_prices_fold_into_candles_and_old_prices_do_not_rewrite_history() -> None:
    book = CandleBook(60)
    for seconds, price in ((0, "10"), (20, "12"), (40, "9"), (59, "11"), (61, "11.5"), (30, "1")):
        book.update("BTCUSDT", Decimal(price), T0 + timedelta(seconds=seconds))
    first, second = book.data().symbols["BTCUSDT"]
    start = int(T0.timestamp())
    assert (first.time, first.open, first.high, first.low, first.close) == (start, 10, 12, 9, 11)
    assert (second.time, second.open, second.close) == (start + 60, Decimal("11.5"), Decimal("11.5"))
    # What Redis stores parses back to the same candles.
    assert parse_candles(book.data().model_dump_json()) == book.data()


def test_a_book_keeps_its_last_candles_only() -> None:
    book = CandleBook(60, keep=3)
    for minute in range(5):
        book.update("BTCUSDT", Decimal(minute + 1), T0 + timedelta(minutes=minute))
    assert [c.close for c in book.data().symbols["BTCUSDT"]] == [3, 4, 5]


def test_every_price_goes_into_the_minute_and_the_hour_book() -> None:
    candles = ChartCandles(60)
    assert candles.hour is not None
    for minute, price in ((0, "10"), (30, "14"), (59, "8"), (60, "9")):
        candles.update("BTCUSDT", Decimal(price), T0 + timedelta(minutes=minute))
    assert len(candles.base.data().symbols["BTCUSDT"]) == 4
    first, second = candles.hour.data().symbols["BTCUSDT"]
    assert (first.open, first.high, first.low, first.close) == (10, 14, 8, 8)
    assert (second.time, second.close) == (int(T0.timestamp()) + 3600, 9)


@pytest.mark.parametrize(("interval", "hours"), [(60, True), (2, True), (7, False), (3600, False)])
def test_the_hour_book_is_kept_when_the_interval_divides_an_hour(interval: int, hours: bool) -> None:
    candles = ChartCandles(interval)
    assert (candles.hour is not None) is hours and candles.interval == interval


def test_the_24_h_reference_is_the_first_price_within_the_last_day() -> None:
    candles = ChartCandles(60)
    candles.update("BTCUSDT", Decimal(100), T0 - timedelta(hours=25))  # too old
    candles.update("BTCUSDT", Decimal(90), T0 - timedelta(hours=23))
    candles.update("BTCUSDT", Decimal(99), T0)
    stat = candles.market(T0)["BTCUSDT"]
    assert stat.open_24h == 90 and stat.since == T0 - timedelta(hours=23)


def test_short_candles_take_the_24_h_reference_from_the_hour_book() -> None:
    candles = ChartCandles(2)  # 1441 candles of 2 s: 48 minutes
    day_ago = T0 - timedelta(hours=24)
    for minute in range(0, 25 * 60, 10):  # prices every 10 minutes from 24.5 h ago
        candles.update("BTCUSDT", Decimal(1000 + minute), day_ago + timedelta(minutes=minute - 29))
    stat = candles.market(T0)["BTCUSDT"]
    assert stat.since == day_ago  # the first hour that starts within the day
    assert stat.open_24h == 1000 + 30  # its first price


def test_the_reference_is_found_from_either_end_of_a_long_book() -> None:
    book = CandleBook(60)
    for minute in range(1441):
        book.update("BTCUSDT", Decimal(minute + 1), T0 + timedelta(minutes=minute))
    start = int(T0.timestamp())
    for minute in (0, 5, 700, 1400, 1440):
        bar = book.first_since("BTCUSDT", start + minute * 60 - 30)
        assert bar is not None and bar.time == start + minute * 60
    assert book.first_since("BTCUSDT", start + 1441 * 60) is None


def test_seeding_takes_history_of_the_same_interval_only() -> None:
    candle = Candle(time=int(T0.timestamp()), open=Decimal(1), high=Decimal(2), low=Decimal(1), close=Decimal(2))
    book = CandleBook(60)
    assert book.seed(30, {"BTCUSDT": [candle]}) == 0
    assert book.seed(60, {"BTCUSDT": [candle]}) == 1 and book.changed
    assert book.seed(60, {"BTCUSDT": [candle, candle]}) == 0  # it has candles now
    book.update("BTCUSDT", Decimal(3), T0 + timedelta(seconds=5))
    assert book.data() == CandlesData(interval=60, symbols={"BTCUSDT": [candle.model_copy(update={
        "high": Decimal(3), "close": Decimal(3)})]})
    assert book.last_close("BTCUSDT") == 3 and book.last_close("ETHUSDT") is None


def test_the_json_written_to_redis_is_the_contracts_and_follows_every_price() -> None:
    book = CandleBook(60)
    candle = Candle(time=int(T0.timestamp()) - 60, open=Decimal("1E+3"), high=Decimal("1000.5"),
                    low=Decimal("0.00000001"), close=Decimal(999))
    book.seed(60, {"ETHUSDT": [candle]})
    for seconds, price in ((0, "10"), (20, "12.50"), (61, "11"), (62, "13"), (125, "9")):
        book.update("BTCUSDT", Decimal(price), T0 + timedelta(seconds=seconds))
        # Encoded piece by piece (closed candles once), equal to the contract model's own JSON.
        assert book.json() == book.data().model_dump_json()
    assert parse_candles(book.json()) == book.data()
