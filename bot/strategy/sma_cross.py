"""Simple moving average crossover, long only (spot).

For each symbol the strategy keeps the last `slow` prices and computes two simple moving
averages: SMA(fast) over the newest `fast` prices and SMA(slow) over all `slow` of them.

* BUY when SMA(fast) crosses above SMA(slow) (it was at or below on the previous price and is
  now above) and there is no open position.
* SELL (the whole position) when SMA(fast) crosses below SMA(slow) (it was at or above and is
  now below) while long.

No signal is given until the slow window is full and one comparison has been recorded, so the
first possible signal is on price number `slow + 1`. A crossover that is not actionable (a
buy while already long, a sell while flat) is ignored, not deferred.
"""

from __future__ import annotations

import logging
from collections import deque
from decimal import Decimal

from bot.strategy.base import Signal
from bot_api.events import Side

logger = logging.getLogger(__name__)


class SmaCrossStrategy:
    """SMA(fast)/SMA(slow) crossover per symbol; see the module docstring."""

    name = "sma_cross"

    def __init__(self, fast: int, slow: int) -> None:
        if not 1 <= fast < slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={fast} slow={slow}")
        self.fast = fast
        self.slow = slow
        self._windows: dict[str, deque[Decimal]] = {}
        # Sign of (fast - slow) at the previous price: +1 above, -1 below, 0 equal.
        self._previous: dict[str, int] = {}

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        """Record `price` and return BUY/SELL on a crossover that fits the position."""
        window = self._windows.setdefault(symbol, deque(maxlen=self.slow))
        window.append(price)
        if len(window) < self.slow:
            return None
        fast_sma = sum(list(window)[-self.fast :], Decimal(0)) / self.fast
        slow_sma = sum(window, Decimal(0)) / self.slow
        relation = (fast_sma > slow_sma) - (fast_sma < slow_sma)
        previous = self._previous.get(symbol)
        self._previous[symbol] = relation
        if previous is None:
            return None
        if previous <= 0 < relation and position_qty == 0:
            return Signal(Side.BUY, f"SMA{self.fast} crossed above SMA{self.slow}")
        if previous >= 0 > relation and position_qty > 0:
            return Signal(Side.SELL, f"SMA{self.fast} crossed below SMA{self.slow}")
        return None
