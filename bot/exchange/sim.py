"""The simulator as an Exchange: the seeded random walk's prices and past, no orders (BROKER=paper)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from bot.candles import ChartCandles
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import ExchangeRejectedError
from bot.market.base import Tick
from bot.market.sim import SimulatedMarket
from bot.market.sim_history import backfill
from bot_api.candles import Candle


class NoKlines:
    """A KlineSource with none: the chart is seeded from Redis (and the exchange's `fill_history`)."""

    intervals: frozenset[int] = frozenset()

    async def klines(self, symbol: str, interval: int, count: int) -> list[Candle]:
        """Never asked (no intervals): raises ExchangeRejectedError, there are none."""
        raise ExchangeRejectedError(f"no klines of {symbol}: this exchange keeps no history")


class SimExchange:
    """The simulated market behind the exchange interface; its past is made by running the walk."""

    name = "sim"
    broker = None
    """Orders go to the paper broker."""

    def __init__(self, market: SimulatedMarket) -> None:
        self.market = market
        self.connectivity = Connectivity("sim")
        self.history = NoKlines()

    def ticks(self) -> AsyncIterator[Tick]:
        """The walk's ticks, one per symbol every tick interval."""
        return self.market.ticks()

    async def connect(self) -> None:
        """Nothing to check: the simulator trades any symbol."""

    def fill_history(self, candles: ChartCandles, now: datetime) -> None:
        """A fresh start gets a past from the same walk; a restart continues from the kept candles (no jump)."""
        backfill(self.market, candles, now)

    async def run(self) -> None:
        """Nothing is pushed: wait until cancelled."""
        await asyncio.Event().wait()

    async def close(self) -> None:
        """Nothing to release."""


def open_sim(settings: BotSettings, *, trading: bool) -> SimExchange:
    """The walk over SYMBOLS from SIM_SEED (`trading` cannot be: the simulator takes no orders)."""
    return SimExchange(SimulatedMarket(settings.symbols, seed=settings.sim_seed, interval=settings.tick_interval))
