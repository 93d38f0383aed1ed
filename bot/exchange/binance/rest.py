"""Every Binance REST call goes through `BinanceRest.call`: rate-limit gate, circuit breaker, timeout.

pybreaker's decorator cannot count failures of `async def` functions (it sees the coroutine
object, not its outcome), so calls run inside `breaker.calling()`, which does see them. The
timeout runs inside the breaker too: a hung exchange counts as a failure like a refused one.
Client errors (4xx) do not open the breaker (the exchange answered), and 429/418 are handled by
the gate: no call leaves before the `Retry-After` the exchange asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pybreaker

from bot.connectivity import BreakerState, Connectivity
from bot.errors import (
    ExchangeOfflineError,
    ExchangeRejectedError,
    ExchangeUnavailableError,
    RateLimitedError,
)
from bot.exchange.binance import pybinance
from bot.exchange.binance.pybinance import AsyncClient, BinanceAPIException, BinanceRequestException

logger = logging.getLogger(__name__)

T = TypeVar("T")

CALL_TIMEOUT = 10.0
"""Seconds one REST call may take before it counts as a failure."""
CLOSE_TIMEOUT = 0.5
DEFAULT_RETRY_AFTER = 60.0
"""Wait after a 429/418 that came without a Retry-After header (the order-count limit)."""


class _RejectedError(Exception):
    """A 4xx the exchange answered on purpose: not a sign of an outage (excluded from the breaker)."""

    def __init__(self, error: BinanceAPIException) -> None:
        super().__init__(str(error))
        self.error = error


class _BreakerToConnectivity(pybreaker.CircuitBreakerListener):
    """Mirrors the breaker's state into the status snapshot (pushed to screens on change)."""

    def __init__(self, connectivity: Connectivity) -> None:
        self._connectivity = connectivity

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        name: BreakerState = new_state.name
        self._connectivity.set_breaker(name)


class BinanceRest:
    """python-binance's AsyncClient pointed at `rest_url`, with the guards above."""

    def __init__(
        self,
        client: AsyncClient,
        connectivity: Connectivity,
        *,
        fail_max: int,
        reset_timeout: float,
        call_timeout: float = CALL_TIMEOUT,
        url: str = "",
    ) -> None:
        self.client = client
        self.url = url
        """The REST base it calls (for messages: testnet, live, a proxy or a local fake)."""
        self.call_timeout = call_timeout
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[self._not_an_outage],
            listeners=[_BreakerToConnectivity(connectivity)],
            name="binance-rest",
        )
        connectivity.set_breaker("closed")
        self._blocked_until = 0.0

    def _not_an_outage(self, exc: BaseException) -> bool:
        """Errors the breaker must not count: the exchange answered (4xx, 429/418), or we cancelled.

        A cancelled call (shutdown, a poll no longer needed) is no sign of an outage, but neither
        is it one of health: a cancelled half-open trial counts as failed, so the breaker stays
        open rather than closing on a call that never finished.
        """
        if isinstance(exc, _RejectedError | RateLimitedError):
            return True
        return isinstance(exc, asyncio.CancelledError) and self.breaker.current_state == "closed"

    @classmethod
    def create(
        cls, *, rest_url: str, api_key: str, api_secret: str, connectivity: Connectivity,
        fail_max: int, reset_timeout: float,
    ) -> BinanceRest:
        """Build the client (no network I/O); call inside the running event loop."""
        client = pybinance.client(rest_url, api_key, api_secret)
        return cls(client, connectivity, fail_max=fail_max, reset_timeout=reset_timeout, url=rest_url)

    @property
    def state(self) -> str:
        """closed, open or half-open."""
        return str(self.breaker.current_state)

    def retry_after(self) -> float:
        """Seconds until the exchange accepts calls again after a 429/418 (0 if it does)."""
        return max(0.0, self._blocked_until - time.monotonic())

    async def call(self, what: str, fn: Callable[..., Awaitable[T]], **params: Any) -> T:
        """Run one REST call; raise the matching ExchangeError subclass when it fails."""
        wait = self.retry_after()
        if wait > 0:
            raise RateLimitedError(f"{what}: rate limited for {wait:.1f} s more", wait)
        sent = False
        try:
            with self.breaker.calling():
                sent = True  # past the breaker: the request goes out
                try:
                    async with asyncio.timeout(self.call_timeout):
                        return await fn(**params)
                except BinanceAPIException as exc:
                    raise self._classify(what, exc) from exc
        except pybreaker.CircuitBreakerError as exc:
            if isinstance(exc.__context__, asyncio.CancelledError):
                raise exc.__context__ from None  # the trip must not swallow a cancellation
            # `sent`: this call's own failure tripped the breaker (an order's outcome is unknown).
            detail = f" after {exc.__context__}" if sent and exc.__context__ is not None else ""
            raise ExchangeOfflineError(f"{what}: exchange offline (circuit open){detail}", sent=sent) from exc
        except _RejectedError as exc:
            raise ExchangeRejectedError(f"{what}: {exc.error.message}", exc.error.code) from exc.error
        except (TimeoutError, aiohttp.ClientError, BinanceRequestException, OSError) as exc:
            raise ExchangeUnavailableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def _classify(self, what: str, exc: BinanceAPIException) -> Exception:
        status = int(exc.status_code)
        if status in (418, 429):
            header = exc.response.headers.get("Retry-After") if exc.response is not None else None
            try:
                wait = float(header) if header is not None else DEFAULT_RETRY_AFTER
            except ValueError:
                wait = DEFAULT_RETRY_AFTER
            self._blocked_until = max(self._blocked_until, time.monotonic() + wait)
            logger.warning("%s: Binance answered %d; no call for %.0f s", what, status, wait)
            return RateLimitedError(f"{what}: HTTP {status}, retry after {wait:.0f} s", wait)
        if 400 <= status < 500:
            return _RejectedError(exc)
        return ExchangeUnavailableError(f"{what}: HTTP {status}: {exc.message}")

    async def sync_time(self) -> None:
        """Align signed requests' timestamps with the exchange's clock."""
        server = await self.call("time", self.client.get_server_time)
        pybinance.set_clock_offset(self.client, int(server["serverTime"]) - int(time.time() * 1000))

    async def close(self) -> None:
        """Close the HTTP session, then (bounded: it may wait out a 10 s read) the WebSocket API."""
        await pybinance.close_client(self.client, CLOSE_TIMEOUT)
