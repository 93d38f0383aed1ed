"""Trading strategies and the registry that STRATEGY names are looked up in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.strategy.base import Signal, Strategy
from bot.strategy.sma_cross import SmaCrossStrategy

if TYPE_CHECKING:
    # Only for annotations: bot.config imports this module to validate STRATEGY.
    from bot.config import BotSettings

logger = logging.getLogger(__name__)


def _sma_cross(settings: BotSettings) -> Strategy:
    return SmaCrossStrategy(settings.sma_fast, settings.sma_slow)


STRATEGIES: dict[str, Callable[[BotSettings], Strategy]] = {
    "sma_cross": _sma_cross,
}
"""Strategy factories by the name STRATEGY selects."""


def build_strategy(settings: BotSettings) -> Strategy:
    """Return a new instance of the strategy named by `settings.strategy`."""
    return STRATEGIES[settings.strategy](settings)


__all__ = ["STRATEGIES", "Signal", "SmaCrossStrategy", "Strategy", "build_strategy"]
