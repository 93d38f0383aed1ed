"""Mean reversion on a rolling z-score, long only (spot).

For each symbol the strategy keeps the last `window` prices, their mean and (population)
standard deviation, and the z-score of the newest price: z = (price - mean) / stdev.

* BUY when flat and z <= -entry_z: the price is unusually far below its recent mean.
* SELL (the whole position) when long and z >= exit_z: the price came back (0 = the mean).

No signal until the window is full, and none while the window is flat (stdev 0).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import Self

from pydantic import Field, model_validator

from bot.strategy.base import Signal, StrategyParams, StrategyPlugin
from bot_api.events import Side
from bot_api.settings import SettingError

Z_STEP = Decimal("0.01")


class MeanReversionParams(StrategyParams):
    """The window and the two thresholds, in standard deviations."""

    window: int = Field(20, ge=2, le=500, alias="MR_WINDOW")
    """`mean_reversion`: prices (bars of `STRATEGY_TIMEFRAME`) in the rolling mean and deviation"""
    entry_z: Decimal = Field(Decimal(2), ge=Decimal("0.1"), le=10, alias="MR_ENTRY_Z")
    """`mean_reversion`: buy when flat and the z-score is at or below minus this"""
    exit_z: Decimal = Field(Decimal(0), ge=-10, le=10, alias="MR_EXIT_Z")
    """`mean_reversion`: sell the position when the z-score is at or above this (0: back at the mean)"""

    @model_validator(mode="after")
    def _exit_above_entry(self) -> Self:
        if self.exit_z <= -self.entry_z:
            raise SettingError("MR_EXIT_Z", f"must be above -MR_ENTRY_Z ({-self.entry_z}), got {self.exit_z}")
        return self


class MeanReversionStrategy:
    """Buys a dip of `entry_z` standard deviations, sells at `exit_z`; see the module docstring."""

    name = "mean_reversion"

    def __init__(self, window: int, entry_z: Decimal, exit_z: Decimal) -> None:
        if window < 2 or entry_z <= 0 or exit_z <= -entry_z:
            raise ValueError(f"need window >= 2, entry_z > 0, exit_z > -entry_z; got {window}, {entry_z}, {exit_z}")
        self.window = window
        self.entry_z = entry_z
        self.exit_z = exit_z
        self._windows: dict[str, deque[Decimal]] = {}

    def started(self, fresh: Collection[str]) -> None:
        """Nothing to adjust: entries depend on the current price's distance alone."""

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        """Record `price` and return BUY/SELL when its z-score crosses a threshold that fits the position."""
        window = self._windows.setdefault(symbol, deque(maxlen=self.window))
        window.append(price)
        if len(window) < self.window:
            return None
        mean = sum(window, Decimal(0)) / self.window
        variance = sum(((p - mean) ** 2 for p in window), Decimal(0)) / self.window
        if variance == 0:
            return None
        z = (price - mean) / variance.sqrt()
        shown = z.quantize(Z_STEP, rounding=ROUND_HALF_UP)
        if position_qty == 0 and z <= -self.entry_z:
            return Signal(Side.BUY, f"z-score {shown} <= -{self.entry_z} over {self.window} prices")
        if position_qty > 0 and z >= self.exit_z:
            return Signal(Side.SELL, f"z-score {shown} >= {self.exit_z}: back to the mean")
        return None


PLUGIN = StrategyPlugin(
    "mean_reversion", MeanReversionParams, lambda p: MeanReversionStrategy(p.window, p.entry_z, p.exit_z)
)
"""STRATEGY=mean_reversion."""
