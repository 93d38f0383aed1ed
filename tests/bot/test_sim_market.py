"""SimulatedMarket: deterministic, sane, on the 0.01 price grid, every symbol every round."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from datetime import UTC
from decimal import Decimal

import pytest

from bot.market.base import MarketData, Tick
from bot.market.sim import SimulatedMarket

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")


def walk(seed: int, rounds: int, symbols: tuple[str, ...] = SYMBOLS, interval: float = 0.5) -> list[dict[str, Decimal]]:
    market = SimulatedMarket(symbols, seed=seed, interval=interval)
    return [market.next_prices() for _ in range(rounds)]


def test_same_seed_gives_same_sequence() -> None:
    assert walk(42, 500) == walk(42, 500)


def test_different_seed_gives_different_sequence() -> None:
    assert walk(42, 50) != walk(43, 50)


def test_prices_are_positive_decimals_with_two_places_and_stay_sane() -> None:
    starts = {"BTCUSDT": 65000, "ETHUSDT": 3500, "SOLUSDT": 150, "BNBUSDT": 600, "XRPUSDT": 100}
    for prices in walk(7, 20_000):
        for symbol, price in prices.items():
            assert isinstance(price, Decimal)
            assert price > 0
            assert price.as_tuple().exponent == -2
            # Mean reversion keeps a long run within a plausible band around the start.
            assert starts[symbol] * 0.6 < price < starts[symbol] * 1.4, (symbol, price)


def test_default_start_prices_and_override() -> None:
    first = walk(1, 1)[0]
    assert abs(first["BTCUSDT"] - 65000) < 65000 * Decimal("0.01")
    assert abs(first["XRPUSDT"] - 100) < 1  # unknown symbols start at 100
    market = SimulatedMarket(["BTCUSDT"], seed=1, interval=0.5, start_prices={"BTCUSDT": Decimal("10")})
    assert abs(market.next_prices()["BTCUSDT"] - 10) < Decimal("0.1")


def test_prices_move() -> None:
    series = [p["BTCUSDT"] for p in walk(42, 100)]
    assert len(set(series)) > 50


@pytest.mark.parametrize(("symbol", "per_minute"), [("BTCUSDT", 0.0008), ("ETHUSDT", 0.0009), ("XRPUSDT", 0.001)])
@pytest.mark.parametrize("interval", [0.1, 0.5, 5.0])
def test_the_volatility_per_minute_does_not_depend_on_the_tick_interval(
    symbol: str, per_minute: float, interval: float
) -> None:
    market = SimulatedMarket([symbol], seed=3, interval=interval)
    per = round(60 / interval)  # ticks per minute
    minutes = 400
    closes = [math.log(market.step(interval)[symbol]) for _ in range(per * minutes)][per - 1 :: per]
    returns = [b - a for a, b in itertools.pairwise(closes)]
    # 400 returns: the sample's standard deviation is within about 7 % of the true one (2 sigma).
    assert statistics.pstdev(returns) == pytest.approx(per_minute, rel=0.1)


def test_mean_reversion_halves_the_distance_to_the_start_price_in_three_days() -> None:
    markets = [SimulatedMarket(["BTCUSDT"], seed=seed, interval=0.5) for seed in range(200)]
    for market in markets:
        market.resume({"BTCUSDT": Decimal(65000) * Decimal("1.2")})  # 20 % above the start price
        for _ in range(3 * 24):
            market.step(3600)
    # Averaged over 200 walks the noise cancels: log distance ln(1.2) halved.
    distance = statistics.mean(math.log(m.step(1e-9)["BTCUSDT"] / 65000) for m in markets)
    assert distance == pytest.approx(math.log(1.2) / 2, rel=0.15)


def test_the_walk_resumes_from_given_prices() -> None:
    market = SimulatedMarket(["BTCUSDT", "ETHUSDT"], seed=1, interval=0.5)
    market.resume({"BTCUSDT": Decimal("70000.00"), "SOLUSDT": Decimal(1)})  # not traded: ignored
    prices = market.next_prices()
    assert abs(prices["BTCUSDT"] - 70000) < 100 and abs(prices["ETHUSDT"] - 3500) < 10


async def test_ticks_emit_every_symbol_each_round_matching_the_walk() -> None:
    market: MarketData = SimulatedMarket(SYMBOLS, seed=5, interval=0.001)
    ticks: list[Tick] = []
    async with asyncio.timeout(5):
        async for t in market.ticks():
            ticks.append(t)
            if len(ticks) == 4 * len(SYMBOLS):
                break
    expected = walk(5, 4, interval=0.001)
    for round_no, prices in enumerate(expected):
        batch = ticks[round_no * len(SYMBOLS) : (round_no + 1) * len(SYMBOLS)]
        assert [t.symbol for t in batch] == list(SYMBOLS)
        assert {t.symbol: t.price for t in batch} == prices
        assert len({t.ts for t in batch}) == 1
    assert all(t.ts.tzinfo == UTC for t in ticks)
    assert market.name == "sim"


async def test_first_round_is_emitted_without_waiting_an_interval() -> None:
    market = SimulatedMarket(["BTCUSDT", "ETHUSDT"], seed=1, interval=10)
    stream = market.ticks()
    async with asyncio.timeout(1):
        first = await anext(stream)
        second = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert (first.symbol, second.symbol) == ("BTCUSDT", "ETHUSDT")
