"""Trading strategies and the registry that STRATEGY names are looked up in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.strategy.base import Signal, Strategy
from bot.strategy.mean_reversion import MeanReversionStrategy
from bot.strategy.sma_cross import SmaCrossStrategy

if TYPE_CHECKING:
    # Only for annotations: bot.config imports this module to validate STRATEGY.
    from bot.config import BotSettings


def _sma_cross(settings: BotSettings) -> Strategy:
    return SmaCrossStrategy(settings.sma_fast, settings.sma_slow)


def _mean_reversion(settings: BotSettings) -> Strategy:
    return MeanReversionStrategy(settings.mr_window, settings.mr_entry_z, settings.mr_exit_z)


STRATEGIES: dict[str, Callable[[BotSettings], Strategy]] = {
    "sma_cross": _sma_cross,
    "mean_reversion": _mean_reversion,
}
"""Strategy factories by the name STRATEGY selects."""


def build_strategy(settings: BotSettings) -> Strategy:
    """Return a new instance of the strategy named by `settings.strategy`."""
    return STRATEGIES[settings.strategy](settings)


__all__ = ["STRATEGIES", "MeanReversionStrategy", "Signal", "SmaCrossStrategy", "Strategy", "build_strategy"]
