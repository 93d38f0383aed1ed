"""Market data sources: anything that yields ticks."""

import logging

from bot.market.base import MarketData, Tick
from bot.market.sim import SimulatedMarket

logger = logging.getLogger(__name__)

__all__ = ["MarketData", "SimulatedMarket", "Tick"]
