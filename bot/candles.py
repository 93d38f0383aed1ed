"""OHLC candles built from the bot's own prices: the chart's history and each symbol's 24 h change."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot_api.candles import HOUR, HOUR_CANDLES, MAX_CANDLES, Candle, CandlesData
from bot_api.events import MarketStatData

logger = logging.getLogger(__name__)

KEEP = MAX_CANDLES
"""Base candles kept per symbol: a day of 1-minute candles and the current one (the 24 h change)."""
DAY = timedelta(hours=24)


@dataclass(slots=True)
class _Bar:
    """A candle being built: mutated in place on every price, so no new object per tick."""

    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    encoded: str | None = None
    """Its JSON, once it is no longer the newest candle (then it never changes again)."""

    def json(self, *, final: bool) -> str:
        """The candle as `Candle.model_dump_json()` writes it; kept when `final`."""
        if self.encoded is not None:
            return self.encoded
        text = (f'{{"time":{self.time},"open":"{self.open:f}","high":"{self.high:f}",'
                f'"low":"{self.low:f}","close":"{self.close:f}"}}')
        if final:
            self.encoded = text
        return text


class CandleBook:
    """Per-symbol candles of `interval` seconds, the last `keep`; `changed` says whether to write them out again."""

    def __init__(self, interval: int, keep: int = KEEP) -> None:
        self.interval = interval
        self.keep = keep
        self.changed = False
        self._candles: dict[str, deque[_Bar]] = {}

    def update(self, symbol: str, price: Decimal, at: datetime) -> None:
        """Fold a price seen at `at` into its symbol's current candle (or open the next one)."""
        start = int(at.timestamp()) // self.interval * self.interval
        candles = self._candles.setdefault(symbol, deque(maxlen=self.keep))
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
            if self._candles.get(symbol) or not candles:
                continue
            kept = candles[-self.keep:]
            self._candles[symbol] = deque((_Bar(c.time, c.open, c.high, c.low, c.close) for c in kept),
                                          maxlen=self.keep)
            taken += len(kept)
        self.changed = self.changed or taken > 0
        return taken

    def has(self, symbol: str) -> bool:
        """Whether `symbol` has any candle yet."""
        return bool(self._candles.get(symbol))

    def last_close(self, symbol: str) -> Decimal | None:
        """The latest price folded in for `symbol` (None before any)."""
        candles = self._candles.get(symbol)
        return candles[-1].close if candles else None

    def data(self, limit: int = MAX_CANDLES) -> CandlesData:
        """The last `limit` candles of every symbol, oldest first."""
        symbols = {}
        for symbol, candles in self._candles.items():
            # model_construct: the fields were validated when they came in; this runs every 2 s.
            symbols[symbol] = [Candle.model_construct(time=b.time, open=b.open, high=b.high, low=b.low, close=b.close)
                               for b in list(candles)[-limit:]]
        return CandlesData(interval=self.interval, symbols=symbols)

    def json(self) -> str:
        """`data().model_dump_json()`, cheaply: only each symbol's newest candle is encoded anew.

        Written every 2 s while prices flow; two books of a day of minutes and a month of hours
        would otherwise cost some 20 ms of validation and encoding each time.
        """
        symbols = ",".join(
            f'{json.dumps(symbol)}:[{",".join(b.json(final=b is not candles[-1]) for b in candles)}]'
            for symbol, candles in self._candles.items()
        )
        return f'{{"v":1,"interval":{self.interval},"symbols":{{{symbols}}}}}'

    def first_since(self, symbol: str, cutoff: int) -> _Bar | None:
        """The oldest candle of `symbol` starting at or after `cutoff` (Unix seconds)."""
        candles = self._candles.get(symbol)
        if not candles or candles[-1].time < cutoff:
            return None
        if candles[0].time >= cutoff:
            return candles[0]
        # Scan from the end nearer the cutoff: a full day of minutes or a month of hours is long.
        if cutoff - candles[0].time <= candles[-1].time - cutoff:
            return next(b for b in candles if b.time >= cutoff)
        found = candles[-1]
        for bar in reversed(candles):
            if bar.time < cutoff:
                break
            found = bar
        return found

    @property
    def symbols(self) -> Iterable[str]:
        """The symbols with candles."""
        return self._candles.keys()


class ChartCandles:
    """The chart's books: candles of CANDLE_INTERVAL seconds (`base`) and, when that divides an hour
    and is shorter, hour candles of the last 30 days (`hour`), for the chart's long timeframes."""

    def __init__(self, interval: int) -> None:
        self.base = CandleBook(interval, KEEP)
        self.hour = CandleBook(HOUR, HOUR_CANDLES) if interval < HOUR and HOUR % interval == 0 else None

    @property
    def interval(self) -> int:
        """Seconds per base candle (CANDLE_INTERVAL)."""
        return self.base.interval

    @property
    def books(self) -> tuple[CandleBook, ...]:
        """Every book kept: the base one first."""
        return (self.base,) if self.hour is None else (self.base, self.hour)

    def update(self, symbol: str, price: Decimal, at: datetime) -> None:
        """Fold a price into every book."""
        for book in self.books:
            book.update(symbol, price, at)

    def market(self, now: datetime) -> dict[str, MarketStatData]:
        """Each symbol's first price within the last 24 h (the reference of its 24 h change).

        From whichever book reaches further back: the base one when it spans a day, else the hours.
        """
        cutoff = int((now - DAY).timestamp())
        stats = {}
        for symbol in self.base.symbols:
            bars = [bar for book in self.books if (bar := book.first_since(symbol, cutoff)) is not None]
            if bars:
                first = min(bars, key=lambda b: b.time)
                stats[symbol] = MarketStatData(open_24h=first.open, since=datetime.fromtimestamp(first.time, UTC))
        return stats
