"""Binance klines against the local fake: paged back from now and joined, a bad answer an ExchangeError."""

from __future__ import annotations

import itertools

import pytest

from bot.errors import ExchangeUnavailableError
from bot.exchange.binance.klines import BinanceKlines
from bot.exchange.binance.rest import BinanceRest
from tests.bot.exchange.binance.fake_binance import FakeBinance

KLINES = "/api/v3/klines"


async def test_a_day_of_minutes_takes_two_pages_that_join_up(rest: BinanceRest, fake: FakeBinance) -> None:
    minutes = await BinanceKlines(rest).klines("BTCUSDT", 60, 1441)
    assert fake.calls(KLINES) == 2 and len(minutes) == 1441
    assert [b.time - a.time for a, b in itertools.pairwise(minutes)] == [60] * 1440  # oldest first, no gap
    assert minutes[-1].close == fake.prices["BTCUSDT"]  # the open candle last
    hours = await BinanceKlines(rest).klines("ETHUSDT", 3600, 721)
    assert fake.calls(KLINES) == 3 and len(hours) == 721


async def test_an_answer_that_is_not_klines_is_an_exchange_error(rest: BinanceRest, fake: FakeBinance) -> None:
    fake.fail(KLINES, 200, body={"code": 0, "msg": "not a list of rows"})
    with pytest.raises(ExchangeUnavailableError, match="not klines"):
        await BinanceKlines(rest).klines("BTCUSDT", 60, 10)


def test_it_serves_the_intervals_binance_names() -> None:
    assert {60, 300, 3600} <= BinanceKlines.intervals and 5 not in BinanceKlines.intervals
