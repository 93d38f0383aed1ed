"""Binance spot as an Exchange: the parts of this package wired together from settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from bot.candles import ChartCandles
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import ConfigError
from bot.exchange.binance.broker import BinanceBroker
from bot.exchange.binance.klines import BinanceKlines
from bot.exchange.binance.market import BinanceMarket
from bot.exchange.binance.rest import BinanceRest
from bot.exchange.binance.user_stream import UserDataStream
from bot.market.base import Tick

logger = logging.getLogger(__name__)


class BinanceExchange:
    """Prices from the stream (REST while it is down), MARKET orders, klines, the user data stream."""

    name = "binance"

    def __init__(
        self, rest: BinanceRest, connectivity: Connectivity, market: BinanceMarket, orders: BinanceBroker,
        *, symbols: tuple[str, ...], trading: bool, user_stream: UserDataStream | None = None,
    ) -> None:
        """`orders` checks the symbols in any case, and places the orders when `trading`."""
        self._rest = rest
        self._market = market
        self._orders = orders
        self._symbols = symbols
        self._user_stream = user_stream
        self.connectivity = connectivity
        self.history = BinanceKlines(rest)
        self.broker = orders if trading else None

    def ticks(self) -> AsyncIterator[Tick]:
        """Yield fresh prices, at most one per symbol per tick interval, until cancelled."""
        return self._market.ticks()

    async def connect(self) -> None:
        """Check SYMBOLS against exchangeInfo (ConfigError); when trading, sync the clock, read balances."""
        listed = await self._orders.load_rules(self._symbols)
        missing = [s for s in self._symbols if s not in listed]
        if missing:
            raise ConfigError("SYMBOLS", f"not trading on Binance at {self._rest.url}: {', '.join(missing)}")
        if self.broker is not None:
            await self._rest.sync_time()
            balances = await self._orders.refresh_balances()
            logger.info("Binance account balances: %s", {a: f"{v:f}" for a, v in balances.items()})

    def fill_history(self, candles: ChartCandles, now: datetime) -> None:
        """Nothing to add: the klines were Binance's whole history."""

    async def run(self) -> None:
        """Keep the user data stream subscribed (when trading) until cancelled."""
        if self._user_stream is None:
            await asyncio.Event().wait()  # paper trading on Binance's prices: no account to follow
        else:
            await self._user_stream.run()

    async def close(self) -> None:
        """Close the HTTP session and the WebSocket API connection."""
        await self._rest.close()


def open_binance(settings: BotSettings, *, trading: bool) -> BinanceExchange:
    """Build Binance from settings (no network I/O: `connect` does that); call inside the event loop."""
    connectivity = Connectivity("none")
    rest = BinanceRest.create(
        rest_url=settings.binance_rest_url, api_key=settings.binance_api_key,
        api_secret=settings.binance_api_secret, connectivity=connectivity,
        fail_max=settings.breaker_fail_max, reset_timeout=settings.breaker_reset_timeout,
    )
    market = BinanceMarket(
        rest=rest, stream_url=settings.binance_stream_url, symbols=settings.symbols, connectivity=connectivity,
        tick_interval=settings.tick_interval, stall_timeout=settings.stall_timeout,
        poll_interval=settings.rest_poll_interval,
    )
    orders = BinanceBroker(rest, settings.quote_asset, live=settings.places_real_orders,
                           on_balances=connectivity.set_balances)
    user_stream = None
    if trading:
        user_stream = UserDataStream(rest, settings.binance_ws_api_url, connectivity.set_balances)
        if settings.places_real_orders:
            logger.warning("LIVE TRADING: orders on Binance spend real money")
    return BinanceExchange(rest, connectivity, market, orders, symbols=settings.symbols, trading=trading,
                           user_stream=user_stream)
