"""SimulatedMarket: deterministic, sane, on the 0.01 price grid, every symbol every round."""

from __future__ import annotations

import asyncio
from datetime import UTC
from decimal import Decimal

from bot.market.base import MarketData, Tick
from bot.market.sim import SimulatedMarket

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")


def walk(seed: int, rounds: int, symbols: tuple[str, ...] = SYMBOLS) -> list[dict[str, Decimal]]:
    market = SimulatedMarket(symbols, seed=seed, interval=0.5)
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


async def test_ticks_emit_every_symbol_each_round_matching_the_walk() -> None:
    market: MarketData = SimulatedMarket(SYMBOLS, seed=5, interval=0.001)
    ticks: list[Tick] = []
    async with asyncio.timeout(5):
        async for t in market.ticks():
            ticks.append(t)
            if len(ticks) == 4 * len(SYMBOLS):
                break
    expected = walk(5, 4)
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
