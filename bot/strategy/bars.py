"""Closed bars of the strategy's timeframe: a strategy decides on bar closes, not on every tick."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot.strategy.base import Strategy
from bot_api.candles import Candle

logger = logging.getLogger(__name__)

WARM_UP_BARS = 501
"""Closes fed to a strategy at start: its largest window (500, the settings' bound) plus one comparison."""


class BarCloses:
    """Per symbol, the bar of `timeframe` seconds the latest tick fell in; 0 means every price is a close.

    A tick that opens a new bar hands back the previous bar's close (its last price): that is when
    the bar is known to be closed. Bars without a tick (a silent feed) hand nothing back.
    """

    def __init__(self, timeframe: int) -> None:
        if timeframe < 0:
            raise ValueError(f"timeframe must be >= 0 seconds, got {timeframe}")
        self.timeframe = timeframe
        self._bars: dict[str, tuple[int, Decimal]] = {}  # symbol -> (bar start, last price)

    def close(self, symbol: str, price: Decimal, at: datetime) -> Decimal | None:
        """Fold a price seen at `at`; return the close of the bar it ends, if it opens a new one."""
        if self.timeframe == 0:
            return price
        start = int(at.timestamp()) // self.timeframe * self.timeframe
        current = self._bars.get(symbol)
        if current is not None and start < current[0]:
            return None  # older than the bar being built: history is not rewritten
        self._bars[symbol] = (start, price)
        return current[1] if current is not None and start > current[0] else None

    def warm_up(
        self, strategy: Strategy, interval: int, candles: Mapping[str, Sequence[Candle]], now: datetime
    ) -> int:
        """Feed `strategy` the closes of earlier bars, from candles of `interval` seconds; return how many.

        Possible when the timeframe is a multiple of the candles' interval. The bar of `now` is the
        one being built: live ticks rebuild it. A symbol whose last closed bar ended at most one
        timeframe ago keeps that bar back, so the first live tick hands its close over and the
        strategy decides at once; a history that stops earlier (the bot was away) is fed whole and
        not decided on: old prices must not trigger an order. Signals of the history are ignored:
        history is not traded. The strategy is told it `started`, with the symbols decided on.
        """
        if self.timeframe == 0 or self.timeframe % interval:
            logger.info("strategy timeframe %d s: no warm-up from %d s candles", self.timeframe, interval)
            strategy.started(())
            return 0
        current = int(now.timestamp()) // self.timeframe * self.timeframe
        fed, fresh = 0, []
        for symbol, series in candles.items():
            closes: dict[int, Decimal] = {}  # bar start -> close, oldest first
            for candle in series:
                closes[candle.time // self.timeframe * self.timeframe] = candle.close
            bars = [(start, close) for start, close in closes.items() if start < current]
            if not bars:
                continue
            if bars[-1][0] == current - self.timeframe:
                *bars, pending = bars
                self._bars[symbol] = pending
                fresh.append(symbol)
            else:
                logger.info("%s: the candles end %s; no decision on them at start", symbol,
                            datetime.fromtimestamp(bars[-1][0] + self.timeframe, UTC).isoformat())
            for _, price in bars[-WARM_UP_BARS:]:
                strategy.on_price(symbol, price, Decimal(0))
            fed += min(len(bars), WARM_UP_BARS)
        strategy.started(fresh)
        return fed
