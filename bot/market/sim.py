"""A seeded random-walk market: realistic-looking prices with no network and no API keys."""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from bot.market.base import Tick

logger = logging.getLogger(__name__)

DEFAULT_START_PRICES: dict[str, Decimal] = {
    "BTCUSDT": Decimal("65000"),
    "ETHUSDT": Decimal("3500"),
    "SOLUSDT": Decimal("150"),
    "BNBUSDT": Decimal("600"),
}
FALLBACK_START_PRICE = Decimal("100")
SIGMA = 0.0015
"""Standard deviation of one tick's log return."""
MEAN_REVERSION = 0.0005
"""Share of the log distance to the start price pulled back per tick; keeps prices within ~±10%."""
PRICE_STEP = Decimal("0.01")
MAX_LAG_TICKS = 10
"""Fall further behind schedule than this (e.g. a suspended laptop) and the schedule restarts."""


class SimulatedMarket:
    """Every `interval` seconds, one Tick per symbol from a deterministic random walk."""

    name = "sim"

    def __init__(
        self,
        symbols: Iterable[str],
        *,
        seed: int,
        interval: float,
        start_prices: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        self.interval = interval
        starts = {**DEFAULT_START_PRICES, **(start_prices or {})}
        self._anchor = {s: math.log(float(starts.get(s, FALLBACK_START_PRICE))) for s in self.symbols}
        self._log_price = dict(self._anchor)
        # Not for security: a seeded PRNG is the point, so runs are reproducible.
        self._rng = random.Random(seed)  # noqa: S311

    def next_prices(self) -> dict[str, Decimal]:
        """Advance the walk one step and return the new price of every symbol (no waiting)."""
        prices: dict[str, Decimal] = {}
        for symbol in self.symbols:
            anchor = self._anchor[symbol]
            x = self._log_price[symbol]
            x += MEAN_REVERSION * (anchor - x) + self._rng.gauss(0.0, SIGMA)
            self._log_price[symbol] = x
            prices[symbol] = _to_price(math.exp(x))
        return prices

    async def ticks(self) -> AsyncIterator[Tick]:
        """Yield one batch of ticks now and then every `interval` seconds, without drift."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            ts = datetime.now(UTC)
            for symbol, price in self.next_prices().items():
                yield Tick(symbol=symbol, price=price, ts=ts)
            # Pace against an absolute schedule so time spent handling ticks does not add up.
            next_at += self.interval
            delay = next_at - loop.time()
            if delay < -MAX_LAG_TICKS * self.interval:
                logger.warning("market simulation fell %.1f s behind; resetting its schedule", -delay)
                next_at = loop.time()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))


def _to_price(value: float) -> Decimal:
    # Through repr so the Decimal is the float's shortest form, then onto the 0.01 price grid.
    price = Decimal(repr(value)).quantize(PRICE_STEP)
    return max(price, PRICE_STEP)
