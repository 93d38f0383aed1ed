"""The simulator as an Exchange: the walk's ticks and past, no klines, no orders, nothing to run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.candles import ChartCandles
from bot.errors import ExchangeError
from bot.exchange.base import Exchange
from bot.exchange.sim import SimExchange
from bot.market.sim import SimulatedMarket

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def sim() -> SimExchange:
    return SimExchange(SimulatedMarket(SYMBOLS, seed=1, interval=0.001))


async def test_it_ticks_every_symbol_and_takes_no_orders() -> None:
    exchange: Exchange = sim()
    await exchange.connect()
    seen: set[str] = set()
    async for tick in exchange.ticks():
        seen.add(tick.symbol)
        if seen == set(SYMBOLS):
            break
    assert exchange.broker is None and exchange.connectivity.source == "sim" and not exchange.connectivity.offline
    await exchange.close()


async def test_its_past_comes_from_the_walk_not_from_klines() -> None:
    exchange = sim()
    assert exchange.history.intervals == frozenset()
    with pytest.raises(ExchangeError):
        await exchange.history.klines("BTCUSDT", 60, 10)
    candles = ChartCandles(60)
    exchange.fill_history(candles, datetime.now(UTC))
    assert all(candles.base.has(s) for s in SYMBOLS)


async def test_it_has_nothing_to_run_and_waits_until_cancelled() -> None:
    running = asyncio.create_task(sim().run())
    await asyncio.sleep(0.01)
    assert not running.done()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
