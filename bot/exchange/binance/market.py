"""Binance prices: the websocket stream first, REST polling while it is down, back when it returns.

One multiplex connection (python-binance's BinanceSocketManager) carries each symbol's trade,
1-minute kline and 24 h ticker streams; every message updates that symbol's latest price. Ticks
go to the engine at most once per TICK_INTERVAL per symbol, and only for a fresh price.

python-binance reconnects on its own but does not notice a connection that stays open and sends
nothing, and it gives up for good after a few failed attempts. So this module runs its own
loop: a stall (no message for STALL_TIMEOUT), a dropped connection, `serverShutdown` or the
connection's age nearing Binance's 24 h limit ends the session; the next one starts after a
jittered backoff (1 s doubling to 60 s). The moment the stream is not delivering, a poller takes
over with the ticker price endpoint (through the circuit breaker) and stops once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.connectivity import Connectivity
from bot.errors import ExchangeError, ExchangeOfflineError, RateLimitedError
from bot.exchange.binance import pybinance
from bot.exchange.binance.rest import BinanceRest
from bot.exchange.sessions import keep_reconnecting
from bot.market.base import Tick
from bot_api.models import utcnow
from bot_api.tasks import cancel_and_wait, wait_event

MAX_CONNECTION_AGE = 23.5 * 3600
"""Reconnect before Binance cuts every stream connection at 24 h."""
OPEN_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
QUEUE_SIZE = 10_000
"""python-binance's read queue; overflowing it ends the library's read loop for good."""


def stream_names(symbols: tuple[str, ...]) -> list[str]:
    """The combined streams for `symbols`: trade, 1 m kline and 24 h ticker of each."""
    return [f"{s.lower()}@{kind}" for s in symbols for kind in ("trade", "kline_1m", "ticker")]


def price_of(message: Mapping[str, Any]) -> tuple[str, Decimal] | None:
    """(symbol, price) from a trade, kline or 24hrTicker payload; None for anything else."""
    kind, symbol = message.get("e"), message.get("s")
    raw = {"trade": lambda: message.get("p"), "kline": lambda: (message.get("k") or {}).get("c"),
           "24hrTicker": lambda: message.get("c")}.get(str(kind), lambda: None)()
    if not isinstance(symbol, str) or raw is None:
        return None
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        return None
    return (symbol, price) if price.is_finite() and price > 0 else None


class _SessionEndedError(Exception):
    """Why a stream session stopped (logged; the loop reconnects)."""


class BinanceMarket:
    """MarketData over Binance; `connectivity.source` says which path delivers."""

    name = "binance"

    def __init__(
        self, *, rest: BinanceRest, stream_url: str, symbols: tuple[str, ...], connectivity: Connectivity,
        tick_interval: float, stall_timeout: float, poll_interval: float,
    ) -> None:
        self._rest = rest
        self._stream_url = stream_url
        self._symbols = symbols
        self._connectivity = connectivity
        self._tick_interval = tick_interval
        self._stall_timeout = stall_timeout
        self._poll_interval = poll_interval
        self._latest: dict[str, Decimal] = {}
        self._event_ms: dict[str, int] = {}
        """Event time of each symbol's latest streamed price: an older message must not replace it."""
        self._fresh: set[str] = set()
        # Both directions are waited on: the poller sleeps until the stream is up, and the
        # streaming side until it is down. Exactly one is set.
        self._stream_up = asyncio.Event()
        self._stream_down = asyncio.Event()
        self._stream_down.set()
        self.sessions = 0
        connectivity.set_source("none", "connecting")

    async def ticks(self) -> AsyncIterator[Tick]:
        """Yield fresh prices, at most one per symbol per tick interval, until cancelled."""
        tasks = [asyncio.create_task(self._stream_loop(), name="binance-stream"),
                 asyncio.create_task(self._fallback_loop(), name="binance-rest-fallback")]
        try:
            while True:
                await asyncio.sleep(self._tick_interval)
                now = utcnow()
                for symbol in [s for s in self._symbols if s in self._fresh]:
                    self._fresh.discard(symbol)
                    yield Tick(symbol=symbol, price=self._latest[symbol], ts=now)
        finally:
            await cancel_and_wait(*tasks)

    def _update(self, symbol: str, price: Decimal) -> None:
        if symbol in self._symbols:
            self._latest[symbol] = price
            self._fresh.add(symbol)

    # -- the stream -----------------------------------------------------------------------------
    async def _stream_loop(self) -> None:
        await keep_reconnecting(self._stream_session, what="Binance stream", on_end=lambda: self._set_streaming(False))

    async def _stream_session(self) -> None:
        socket = pybinance.market_socket(self._rest.client, self._stream_url, stream_names(self._symbols), QUEUE_SIZE)
        readers = await pybinance.open_socket(socket, OPEN_TIMEOUT)
        self.sessions += 1
        opened = time.monotonic()
        try:
            while True:
                if time.monotonic() - opened > MAX_CONNECTION_AGE:
                    raise _SessionEndedError("connection nearing Binance's 24 h limit; renewing it")
                try:
                    async with asyncio.timeout(self._stall_timeout):
                        message = await socket.recv()
                except TimeoutError:
                    raise _SessionEndedError(f"no message for {self._stall_timeout:g} s (stalled)") from None
                self._on_message(message)
        finally:
            # Closed by us, each step bounded: python-binance's own exit can hang while it reconnects.
            await pybinance.leave_socket(socket, readers, CLOSE_TIMEOUT)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("e") == "error":
            # python-binance's notice of a dropped connection: fall back now, reconnect ourselves.
            raise _SessionEndedError(f"{message.get('type')}: {message.get('m')}")
        data = message.get("data", message)
        if not isinstance(data, dict):
            return
        if data.get("e") == "serverShutdown":
            raise _SessionEndedError("serverShutdown announced")
        parsed = price_of(data)
        if parsed is not None:
            self._set_streaming(True)
            symbol, price = parsed
            # The 24 h ticker is a once-a-second summary: it can arrive after a newer trade.
            event_ms = data.get("E")
            if isinstance(event_ms, int):
                if event_ms < self._event_ms.get(symbol, 0):
                    return
                self._event_ms[symbol] = event_ms
            self._update(symbol, price)

    def _set_streaming(self, streaming: bool) -> None:
        if streaming == self._stream_up.is_set():
            return
        if streaming:
            self._stream_down.clear()
            self._stream_up.set()
            self._connectivity.set_source("stream")
        else:
            self._stream_up.clear()
            self._stream_down.set()  # wakes the poller at once

    # -- the REST fallback ----------------------------------------------------------------------
    async def _fallback_loop(self) -> None:
        while True:
            if not self._stream_up.is_set():
                await self._poll_once()
                await wait_event(self._stream_up, self._poll_interval)
                continue
            if self._rest.state == "open":
                # Nothing else calls the exchange while the stream works: probe, so the
                # breaker can half-open and close again.
                with contextlib.suppress(ExchangeError):
                    await self._rest.call("ping", self._rest.client.ping)
            await wait_event(self._stream_down, self._poll_interval)

    async def _poll_once(self) -> None:
        try:
            rows = await self._rest.call("ticker/price", self._rest.client.get_symbol_ticker)
        except ExchangeError as exc:
            # A stable text: a detail that changed with every poll would push a status each time.
            if isinstance(exc, RateLimitedError):
                detail = "rate limited by Binance"
            elif isinstance(exc, ExchangeOfflineError):
                detail = "exchange offline (circuit open)"
            else:
                detail = str(exc)
            self._connectivity.set_source("none", detail)
            return
        if self._stream_up.is_set():
            return  # the stream came back while we asked
        for row in rows:
            parsed = price_of({"e": "24hrTicker", "s": row.get("symbol"), "c": row.get("price")})
            if parsed is not None:
                self._update(*parsed)
        self._connectivity.set_source("rest", "websocket down; polling REST")

