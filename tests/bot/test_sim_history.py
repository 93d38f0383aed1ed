"""The simulated market's past: a day of minutes and a month of hours ending now, continued live."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.candles import ChartCandles
from bot.market.sim import SimulatedMarket
from bot.market.sim_history import backfill
from bot_api.candles import Candle

END = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def fresh(seed: int = 42, interval: int = 60) -> tuple[SimulatedMarket, ChartCandles]:
    market = SimulatedMarket(SYMBOLS, seed=seed, interval=0.5)
    candles = ChartCandles(interval)
    backfill(market, candles, END)
    return market, candles


def test_a_fresh_start_gets_a_day_of_minutes_and_a_month_of_hours_ending_now() -> None:
    market, candles = fresh()
    assert candles.hour is not None
    now = int(END.timestamp())
    for symbol in SYMBOLS:
        minutes = candles.base.data().symbols[symbol]
        hours = candles.hour.data().symbols[symbol]
        assert len(minutes) == 1441 and minutes[-1].time == now // 60 * 60
        assert [b.time - a.time for a, b in itertools.pairwise(minutes)] == [60] * 1440  # no gap
        assert len(hours) == 721 and hours[-1].time == now // 3600 * 3600
        assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in minutes + hours)
        # The two books tell the same story: the hour's close is the minute's close.
        assert hours[-1].close == minutes[-1].close
    # The 24 h change is a real one: from the price a day ago.
    stat = candles.market(END)["BTCUSDT"]
    assert stat.since == datetime.fromtimestamp(int((END - timedelta(days=1)).timestamp()) // 60 * 60 + 60, UTC)
    # The live walk continues from the last close, one tick later: no jump.
    last = candles.base.last_close("BTCUSDT")
    assert last is not None and abs(market.next_prices()["BTCUSDT"] / last - 1) < Decimal("0.001")


def test_the_history_is_deterministic_for_a_seed() -> None:
    assert fresh(7)[1].base.data() == fresh(7)[1].base.data()
    assert fresh(7)[1].base.data() != fresh(8)[1].base.data()


def test_the_history_moves_like_the_live_walk() -> None:
    _, candles = fresh()
    for symbol, per_minute in (("BTCUSDT", 0.0008), ("ETHUSDT", 0.0009)):
        closes = [math.log(c.close) for c in candles.base.data().symbols[symbol]]
        returns = [b - a for a, b in itertools.pairwise(closes)]
        # 1440 returns: the sample's standard deviation is within about 4 % of the true one (2 sigma).
        assert statistics.pstdev(returns) == pytest.approx(per_minute, rel=0.08), symbol


def test_restored_candles_are_kept_and_their_walk_continues_from_the_last_close() -> None:
    market = SimulatedMarket(SYMBOLS, seed=42, interval=0.5)
    candles = ChartCandles(60)
    stored = Candle(time=int(END.timestamp()) // 60 * 60 - 600, open=Decimal(71000), high=Decimal(71000),
                    low=Decimal(71000), close=Decimal(71000))
    candles.base.seed(60, {"BTCUSDT": [stored]})
    backfill(market, candles, END)
    assert candles.base.data().symbols["BTCUSDT"] == [stored]  # not replaced by a made-up past
    assert candles.hour is not None and not candles.hour.has("BTCUSDT")  # and no other past beside it
    assert len(candles.base.data().symbols["ETHUSDT"]) == 1441  # the symbol without history gets one
    assert abs(market.next_prices()["BTCUSDT"] - 71000) < 100  # not back at the start price (65000)


def test_short_candles_get_the_span_they_keep() -> None:
    _, candles = fresh(interval=2)
    minutes = candles.base.data().symbols["BTCUSDT"]
    assert len(minutes) == 1441 and minutes[-1].time == int(END.timestamp()) // 2 * 2  # 48 minutes of 2 s
    assert candles.hour is not None and len(candles.hour.data().symbols["BTCUSDT"]) == 721
