"""The simulated market's past: the same walk run up to now, so a fresh start has a believable chart."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.candles import ChartCandles
from bot.market.sim import SimulatedMarket, to_price
from bot_api.candles import Candle

logger = logging.getLogger(__name__)

FINE_STEP = 5.0
"""Seconds per step of the history the base candles are built from (a tick every 5 s, not every 0.5 s:
ten times cheaper, and the walk's per-minute volatility does not depend on the step)."""
COARSE_STEP = 60.0
"""Seconds per step further back, where only hour candles are kept."""


def backfill(market: SimulatedMarket, candles: ChartCandles, end: datetime) -> int:
    """Give the books a past that ends at `end`, and the walk a present that continues it; return candles made.

    A symbol with base candles (restored from Redis) keeps them, and its walk continues from their
    last close: no jump on restart. The others get the walk's own past: it starts at the start
    price 30 days (or the span the books keep) before `end` and runs forward to `end`, the live
    walk continuing from its last price. Deterministic for a given seed and `end`.
    """
    restored = {s: close for s in market.symbols if (close := candles.base.last_close(s)) is not None}
    missing = [s for s in market.symbols if s not in restored]
    made = 0
    if missing:
        made = _simulate(market, candles, int(end.timestamp()), missing)
        logger.info("simulated %d candle(s) of history for %s", made, ", ".join(missing))
    market.resume(restored)
    return made


def _simulate(market: SimulatedMarket, candles: ChartCandles, end: int, missing: list[str]) -> int:
    """Run the walk over the books' spans up to `end`, fold it into candles of the missing symbols."""
    spans = {book: book.keep * book.interval for book in candles.books}  # the seconds each book holds
    fine_from = end - spans[candles.base]
    fine_step = min(FINE_STEP, candles.base.interval)
    folders = {book: _Folder(book.interval) for book in candles.books}
    t: float = end - max(spans.values())
    while t < end:
        dt = COARSE_STEP if t + COARSE_STEP <= fine_from else fine_step
        t += dt
        prices = market.step(dt)
        for book, folder in folders.items():
            if t > end - spans[book]:
                folder.add(t, prices)
    return sum(book.seed(book.interval, {s: folder.candles(s) for s in missing}) for book, folder in folders.items())


class _Folder:
    """OHLC of float prices per symbol, converted to Candles once at the end (cheap per step)."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self._bars: dict[str, list[list[float]]] = {}

    def add(self, at: float, prices: dict[str, float]) -> None:
        start = int(at) // self.interval * self.interval
        for symbol, price in prices.items():
            bars = self._bars.setdefault(symbol, [])
            if bars and bars[-1][0] == start:
                bar = bars[-1]
                bar[2] = max(bar[2], price)
                bar[3] = min(bar[3], price)
                bar[4] = price
            else:
                bars.append([start, price, price, price, price])

    def candles(self, symbol: str) -> list[Candle]:
        return [Candle(time=int(b[0]), open=to_price(b[1]), high=to_price(b[2]), low=to_price(b[3]),
                       close=to_price(b[4])) for b in self._bars.get(symbol, [])]
