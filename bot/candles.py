"""OHLC candles built from the bot's own prices: the chart's history and each symbol's 24 h change."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot_api.candles import MAX_CANDLES, Candle, CandlesData
from bot_api.events import MarketStatData

logger = logging.getLogger(__name__)

KEEP = 1441
"""Candles kept in memory per symbol: a day of 1-minute candles, for the 24 h change."""
DAY = timedelta(hours=24)


@dataclass(slots=True)
class _Bar:
    """A candle being built: mutated in place on every price, so no new object per tick."""

    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class CandleBook:
    """Per-symbol candles of `interval` seconds; `changed` says whether to write them out again."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.changed = False
        self._candles: dict[str, deque[_Bar]] = {}

    def update(self, symbol: str, price: Decimal, at: datetime) -> None:
        """Fold a price seen at `at` into its symbol's current candle (or open the next one)."""
        start = int(at.timestamp()) // self.interval * self.interval
        candles = self._candles.setdefault(symbol, deque(maxlen=KEEP))
        last = candles[-1] if candles else None
        if last is not None and last.time == start:
            last.high = max(last.high, price)
            last.low = min(last.low, price)
            last.close = price
        elif last is None or start > last.time:
            candles.append(_Bar(start, price, price, price, price))
        else:
            return  # a price older than the current candle: the chart does not rewrite history
        self.changed = True

    def seed(self, interval: int, symbols: Mapping[str, Sequence[Candle]]) -> int:
        """Take earlier candles (same interval) for the symbols that have none yet; return how many."""
        if interval != self.interval:
            logger.info("stored candles are %d s, not %d s: not used", interval, self.interval)
            return 0
        taken = 0
        for symbol, candles in symbols.items():
            if self._candles.get(symbol):
                continue
            self._candles[symbol] = deque((_Bar(c.time, c.open, c.high, c.low, c.close) for c in candles), maxlen=KEEP)
            taken += len(candles)
        self.changed = self.changed or taken > 0
        return taken

    def data(self, limit: int = MAX_CANDLES) -> CandlesData:
        """The last `limit` candles of every symbol, oldest first."""
        symbols = {}
        for symbol, candles in self._candles.items():
            symbols[symbol] = [Candle(time=b.time, open=b.open, high=b.high, low=b.low, close=b.close)
                               for b in list(candles)[-limit:]]
        return CandlesData(interval=self.interval, symbols=symbols)

    def market(self, now: datetime) -> dict[str, MarketStatData]:
        """Each symbol's first price within the last 24 h (the reference of its 24 h change)."""
        cutoff = (now - DAY).timestamp()
        stats = {}
        for symbol, candles in self._candles.items():
            first = next((b for b in candles if b.time >= cutoff), None)
            if first is not None:
                stats[symbol] = MarketStatData(open_24h=first.open, since=datetime.fromtimestamp(first.time, UTC))
        return stats
