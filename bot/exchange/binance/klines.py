"""Binance's candles (`GET /api/v3/klines`) as the chart's Candles, paged back from now."""

from __future__ import annotations

from decimal import Decimal

from bot.errors import ExchangeUnavailableError
from bot.exchange.binance.rest import BinanceRest
from bot_api.candles import HOUR, Candle

KLINES_PAGE = 1000
"""Binance's largest kline page; a day of 1-minute candles (1441 with the current one) takes two."""
KLINE_INTERVALS = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", HOUR: "1h"}
"""Candle lengths in seconds Binance has klines of, by their name in `GET /api/v3/klines`."""


class BinanceKlines:
    """A KlineSource over the guarded REST client."""

    intervals = frozenset(KLINE_INTERVALS)

    def __init__(self, rest: BinanceRest) -> None:
        self._rest = rest

    async def klines(self, symbol: str, interval: int, count: int) -> list[Candle]:
        """The last `count` klines of `symbol`, oldest first, paging back from now (bounded by count).

        Raises ExchangeError, ExchangeUnavailableError for an answer that is not klines.
        """
        name = KLINE_INTERVALS[interval]
        candles: list[Candle] = []
        end_ms: int | None = None
        while len(candles) < count:
            limit = min(KLINES_PAGE, count - len(candles))
            more = {} if end_ms is None else {"endTime": end_ms}
            rows = await self._rest.call("klines", self._rest.client.get_klines, symbol=symbol,
                                         interval=name, limit=limit, **more)
            try:
                page = [Candle(time=int(r[0]) // 1000, open=Decimal(r[1]), high=Decimal(r[2]),
                               low=Decimal(r[3]), close=Decimal(r[4])) for r in rows]
            except (ValueError, IndexError, TypeError, KeyError, ArithmeticError) as exc:
                raise ExchangeUnavailableError(f"klines: not klines ({type(exc).__name__}: {exc})") from exc
            candles = page + candles
            if len(page) < limit:
                break  # the symbol's whole history
            end_ms = page[0].time * 1000 - 1
        return candles
