"""Market data sources: anything that yields ticks."""


from bot.market.base import MarketData, Tick
from bot.market.sim import SimulatedMarket

__all__ = ["MarketData", "SimulatedMarket", "Tick"]
