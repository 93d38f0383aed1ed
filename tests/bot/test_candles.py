"""Candles from the bot's prices: OHLC per interval, the 24 h reference, seeding from history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.candles import CandleBook
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


def test_the_24_h_reference_is_the_first_price_within_the_last_day() -> None:
    book = CandleBook(60)
    book.update("BTCUSDT", Decimal(100), T0 - timedelta(hours=25))  # too old
    book.update("BTCUSDT", Decimal(90), T0 - timedelta(hours=23))
    book.update("BTCUSDT", Decimal(99), T0)
    stat = book.market(T0)["BTCUSDT"]
    assert stat.open_24h == 90 and stat.since == T0 - timedelta(hours=23)


def test_seeding_takes_history_of_the_same_interval_only() -> None:
    candle = Candle(time=int(T0.timestamp()), open=Decimal(1), high=Decimal(2), low=Decimal(1), close=Decimal(2))
    book = CandleBook(60)
    assert book.seed(30, {"BTCUSDT": [candle]}) == 0
    assert book.seed(60, {"BTCUSDT": [candle]}) == 1 and book.changed
    book.update("BTCUSDT", Decimal(3), T0 + timedelta(seconds=5))
    assert book.data() == CandlesData(interval=60, symbols={"BTCUSDT": [candle.model_copy(update={
        "high": Decimal(3), "close": Decimal(3)})]})
