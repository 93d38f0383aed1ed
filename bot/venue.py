"""Where the bot trades, built from settings: an exchange looked up by name, and the broker orders go to."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.broker.base import Broker
from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import ConfigError, ExchangeError
from bot.exchange.base import Exchange
from bot.exchange.binance.exchange import open_binance
from bot.exchange.sim import open_sim
from bot.market.base import MarketData

logger = logging.getLogger(__name__)

PAPER = "paper"
"""BROKER for simulated fills; any other BROKER names the exchange that takes the orders."""


class Opener(Protocol):
    """Builds an exchange from settings without network I/O (`Exchange.connect` does that)."""

    def __call__(self, settings: BotSettings, *, trading: bool) -> Exchange:
        """`trading`: orders go to this exchange (BROKER names it), so it follows the account too."""
        ...


EXCHANGES: Mapping[str, Opener] = {"sim": open_sim, "binance": open_binance}
"""Every exchange by its MARKET_DATA (and BROKER) name."""


@dataclass(frozen=True)
class Venue:
    """The exchange prices come from, and the broker that executes orders (the exchange's, or paper)."""

    exchange: Exchange
    broker: Broker

    @property
    def market(self) -> MarketData:
        """Where ticks come from: the exchange."""
        return self.exchange

    @property
    def connectivity(self) -> Connectivity:
        """The exchange's health and balances, as the dashboard sees them."""
        return self.exchange.connectivity

    async def close(self) -> None:
        """Release the exchange's connections."""
        await self.exchange.close()


async def open_venue(settings: BotSettings) -> Venue:
    """Open MARKET_DATA's exchange and check SYMBOLS against it (ConfigError if it does not list one).

    An exchange that does not answer at start-up is not fatal (the bot shows it offline and
    retries); an exchange that answers and does not list a symbol is.
    """
    opener = EXCHANGES.get(settings.market_data)
    if opener is None:
        raise ConfigError("MARKET_DATA", f"no exchange {settings.market_data!r}; one of {', '.join(EXCHANGES)}")
    trading = settings.broker != PAPER
    if trading and settings.broker != settings.market_data:
        raise ConfigError("BROKER", f"must be {PAPER} or the MARKET_DATA exchange ({settings.market_data})")
    exchange = opener(settings, trading=trading)
    broker = exchange.broker if trading else PaperBroker(settings.fee_rate, settings.quote_asset, settings.slippage_bps)
    if broker is None:
        await exchange.close()
        raise ConfigError("BROKER", f"{exchange.name} takes no orders; use {PAPER}")
    try:
        await exchange.connect()
    except ConfigError:
        await exchange.close()
        raise
    except ExchangeError as exc:
        logger.warning("%s did not answer at start-up (%s); continuing, it will be retried", exchange.name, exc)
    return Venue(exchange, broker)
