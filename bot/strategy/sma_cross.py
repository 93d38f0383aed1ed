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

After a warm-up on history (`started`), the first decision joins a trend in progress: if
SMA(fast) is above SMA(slow) then, a flat bot buys, as if the crossover had just happened. A bot
started in a rising market would otherwise sit out the whole trend; later entries need a
crossover again (a position the operator closed is not bought back until the next one).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from bot.strategy.base import Signal, StrategyParams, StrategyPlugin
from bot_api.events import Side
from bot_api.settings import SettingError


class SmaCrossParams(StrategyParams):
    """The two windows, in bars of STRATEGY_TIMEFRAME."""

    fast: int = Field(2, ge=1, le=499, alias="SMA_FAST")
    """`sma_cross`: the fast SMA's window, in bars of `STRATEGY_TIMEFRAME`"""
    slow: int = Field(4, ge=2, le=500, alias="SMA_SLOW")
    """`sma_cross`: the slow SMA's window, in bars (larger than `SMA_FAST`)"""

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise SettingError("SMA_FAST", f"must be smaller than SMA_SLOW ({self.slow}), got {self.fast}")
        return self


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
        self._joining: set[str] = set()
        """Symbols whose next comparison is the first since the start (see `started`)."""

    def started(self, fresh: Collection[str]) -> None:
        """For the `fresh` symbols, forget the last comparison: the next one counts as a crossover
        (joins the trend in progress). Others keep theirs: stale history decides nothing."""
        self._joining = {symbol for symbol in fresh if symbol in self._previous}
        for symbol in self._joining:
            self._previous[symbol] = 0

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
        joining = symbol in self._joining
        self._joining.discard(symbol)
        if previous is None:
            return None
        if previous <= 0 < relation and position_qty == 0:
            return Signal(Side.BUY, self._why("above", joining))
        if previous >= 0 > relation and position_qty > 0:
            return Signal(Side.SELL, self._why("below", joining))
        return None

    def _why(self, where: str, joining: bool) -> str:
        if joining:
            return f"SMA{self.fast} {where} SMA{self.slow} when the bot started (joining the trend)"
        return f"SMA{self.fast} crossed {where} SMA{self.slow}"


PLUGIN = StrategyPlugin("sma_cross", SmaCrossParams, lambda p: SmaCrossStrategy(p.fast, p.slow))
"""STRATEGY=sma_cross."""
