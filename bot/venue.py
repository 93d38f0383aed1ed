"""Where the bot trades, built from settings: market data, broker and the exchange's health."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.broker.base import Broker
from bot.broker.binance import BinanceBroker
from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import ConfigError, ExchangeError
from bot.exchange.rest import BinanceRest
from bot.exchange.user_stream import UserDataStream
from bot.market.base import MarketData
from bot.market.binance import BinanceMarket
from bot.market.sim import SimulatedMarket

logger = logging.getLogger(__name__)


@dataclass
class Venue:
    """The market data source, the broker, and what the dashboard shows about the exchange."""

    market: MarketData
    broker: Broker
    connectivity: Connectivity
    rest: BinanceRest | None = None
    user_stream: UserDataStream | None = None
    """Binance's pushed balance and order updates (BROKER=binance); run by the runner."""

    async def close(self) -> None:
        """Release the exchange's HTTP session."""
        if self.rest is not None:
            await self.rest.close()


async def open_venue(settings: BotSettings) -> Venue:
    """Build the venue; with Binance, check SYMBOLS against the exchange (ConfigError if unlisted).

    An exchange that does not answer at start-up is not fatal (the bot shows it offline and
    retries); an exchange that answers and does not list a symbol is.
    """
    paper = PaperBroker(settings.fee_rate, settings.quote_asset, settings.slippage_bps)
    if settings.market_data == "sim":
        sim = SimulatedMarket(settings.symbols, seed=settings.sim_seed, interval=settings.tick_interval)
        return Venue(sim, paper, Connectivity("sim"))
    connectivity = Connectivity("none")
    rest = BinanceRest.create(
        rest_url=settings.binance_rest_url, api_key=settings.binance_api_key,
        api_secret=settings.binance_api_secret, connectivity=connectivity,
        fail_max=settings.breaker_fail_max, reset_timeout=settings.breaker_reset_timeout,
    )
    broker: Broker = paper
    binance = BinanceBroker(rest, settings.quote_asset, live=settings.places_real_orders,
                            on_balances=connectivity.set_balances)
    try:
        listed = await binance.load_rules(settings.symbols)
        missing = [s for s in settings.symbols if s not in listed]
        if missing:
            await rest.close()
            raise ConfigError("SYMBOLS", f"not trading on Binance at {settings.binance_rest_url}: {', '.join(missing)}")
        if settings.broker == "binance":
            await rest.sync_time()
            balances = await binance.refresh_balances()
            logger.info("Binance account balances: %s", {a: f"{v:f}" for a, v in balances.items()})
    except ExchangeError as exc:
        logger.warning("Binance did not answer at start-up (%s); continuing, it will be retried", exc)
    if settings.broker == "binance":
        broker = binance
        if settings.places_real_orders:
            logger.warning("LIVE TRADING: orders on Binance spend real money")
    market = BinanceMarket(
        rest=rest, stream_url=settings.binance_stream_url, symbols=settings.symbols, connectivity=connectivity,
        tick_interval=settings.tick_interval, stall_timeout=settings.stall_timeout,
        poll_interval=settings.rest_poll_interval,
    )
    user_stream = None
    if settings.broker == "binance":
        user_stream = UserDataStream(rest, settings.binance_ws_api_url, connectivity.set_balances)
    return Venue(market, broker, connectivity, rest, user_stream)
