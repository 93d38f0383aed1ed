"""The exchange interface: what the venue, the chart and the runner may ask of any exchange.

An exchange gives prices (`ticks`, from a stream, polling while it is down), takes orders when
the bot trades on it (`broker`), has candles of the past (`klines`) and reports its health and
free balances into `connectivity` (price source, circuit breaker, balances pushed to screens).
Money is Decimal throughout. Each implementation lives in its own module or package and is
registered by name in `bot.venue.EXCHANGES`; nothing else imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from bot.broker.base import Broker
from bot.candles import ChartCandles
from bot.connectivity import Connectivity
from bot.market.base import MarketData, Tick
from bot_api.candles import Candle


class KlineSource(Protocol):
    """Candles of the past, to seed the chart before the first tick."""

    @property
    def intervals(self) -> frozenset[int]:
        """Candle lengths in seconds `klines` serves (empty: none)."""
        ...

    async def klines(self, symbol: str, interval: int, count: int) -> list[Candle]:
        """The last `count` candles of `interval` seconds (one of `intervals`), oldest first, the
        open one last; fewer if the symbol is younger. Raises ExchangeError."""
        ...


class Exchange(MarketData, Protocol):
    """One exchange, built from settings by its opener (see `bot.venue.EXCHANGES`); `name` is its key."""

    @property
    def connectivity(self) -> Connectivity:
        """Its health and free balances as the dashboard sees them; updated by the exchange itself."""
        ...

    @property
    def broker(self) -> Broker | None:
        """Orders placed on the exchange when the bot trades there; None otherwise (paper trading)."""
        ...

    @property
    def history(self) -> KlineSource:
        """Its candles of the past."""
        ...

    def ticks(self) -> AsyncIterator[Tick]:
        """Yield fresh prices of the symbols it was opened for, until cancelled."""
        ...

    async def connect(self) -> None:
        """Check the symbols (ConfigError if it does not list one) and, when trading, read the clock
        and balances. ExchangeError if it does not answer: not fatal, every later call retries."""
        ...

    def fill_history(self, candles: ChartCandles, now: datetime) -> None:
        """After the chart is seeded (klines, Redis): fill what it still lacks up to `now`, if the
        exchange can (the simulator runs its walk over the past); else do nothing."""
        ...

    async def run(self) -> None:
        """Keep its pushed account updates coming (the user data stream) until cancelled; never
        returns (an exchange with nothing to run waits)."""
        ...

    async def close(self) -> None:
        """Release its connections (the caller bounds how long this may take)."""
        ...
