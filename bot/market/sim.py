"""A seeded random-walk market: realistic-looking prices with no network and no API keys.

The log price of each symbol follows a mean-reverting random walk (an Ornstein-Uhlenbeck process)
whose parameters are per unit of time, so TICK_INTERVAL changes how often prices come, not how
much they move per minute:

* volatility: VOLATILITY_PER_MINUTE is the standard deviation of a 1-minute log return; a step
  of `dt` seconds draws sigma_min * sqrt(dt / 60). For BTC 0.08 %/min gives 3 % per day
  (0.08 % * sqrt(1440)) and daily high-low ranges of 2-10 %, 4.3-5 % on average (30 simulated
  days, seeds 1-3 and 42): BTC's own range, on the lively side.
* mean reversion: the log distance to the start price halves every HALF_LIFE_DAYS (3 days). That
  barely touches a day's moves, but over weeks keeps BTC within about ±9 % (two standard
  deviations of the stationary spread, sigma_min * sqrt(half-life in minutes / (2 ln 2))).
"""

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
# Source of reason: realised annual volatility of recent years (roughly BTC 55 %, ETH 65 %,
# SOL 90 %, BNB 50 %) divided by sqrt(minutes per year) = sqrt(525,600) ≈ 725.
VOLATILITY_PER_MINUTE: dict[str, float] = {
    "BTCUSDT": 0.0008,
    "ETHUSDT": 0.0009,
    "SOLUSDT": 0.0012,
    "BNBUSDT": 0.0007,
}
"""Standard deviation of a symbol's 1-minute log return."""
FALLBACK_VOLATILITY_PER_MINUTE = 0.0010
"""The same for a symbol not in the table: an altcoin-like 0.1 %/min."""
HALF_LIFE_DAYS = 3.0
"""Days in which the log distance to the start price halves (the pull of mean reversion)."""
HALF_LIFE_SECONDS = HALF_LIFE_DAYS * 86_400
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
        self._sigma = {s: VOLATILITY_PER_MINUTE.get(s, FALLBACK_VOLATILITY_PER_MINUTE) for s in self.symbols}
        self._log_price = dict(self._anchor)
        # Not for security: a seeded PRNG is the point, so runs are reproducible.
        self._rng = random.Random(seed)  # noqa: S311

    def step(self, dt: float) -> dict[str, float]:
        """Advance the walk by `dt` seconds; return every symbol's new price as a float."""
        # Exact decay of the distance to the anchor over dt, so big steps do not overshoot it.
        kept = math.exp(-math.log(2) * dt / HALF_LIFE_SECONDS)
        root = math.sqrt(dt / 60)
        prices: dict[str, float] = {}
        for symbol in self.symbols:
            anchor = self._anchor[symbol]
            x = anchor + (self._log_price[symbol] - anchor) * kept + self._rng.gauss(0.0, self._sigma[symbol] * root)
            self._log_price[symbol] = x
            prices[symbol] = math.exp(x)
        return prices

    def next_prices(self) -> dict[str, Decimal]:
        """Advance the walk one tick (`interval` seconds) and return every symbol's new price (no waiting)."""
        return {symbol: to_price(value) for symbol, value in self.step(self.interval).items()}

    def resume(self, prices: Mapping[str, Decimal]) -> None:
        """Continue the walk of these symbols from these prices (the last ones before a restart)."""
        for symbol, price in prices.items():
            if symbol in self._log_price and price > 0:
                self._log_price[symbol] = math.log(float(price))

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


def to_price(value: float) -> Decimal:
    """A simulated float price as a Decimal on the 0.01 price grid (never below one step)."""
    # Through repr so the Decimal is the float's shortest form, then onto the grid.
    price = Decimal(repr(value)).quantize(PRICE_STEP)
    return max(price, PRICE_STEP)
