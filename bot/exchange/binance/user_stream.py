"""Binance's user data stream: balance and order updates pushed by the exchange (BROKER=binance).

python-binance 1.0.37 subscribes over the WebSocket API (`userDataStream.subscribe.signature`)
and, when that connection drops and comes back, does not subscribe again: events silently stop.
So any error notice ends the session here and the next one subscribes afresh, after a jittered
backoff (1 s doubling to 60 s). The stream may legitimately be quiet for hours, so silence is
not a fault; balances are also read from the account endpoint after every fill.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.exchange.binance import pybinance
from bot.exchange.binance.rest import BinanceRest
from bot.exchange.sessions import keep_reconnecting

logger = logging.getLogger(__name__)

OPEN_TIMEOUT = 10.0
"""Bound on connecting and subscribing."""
CLOSE_TIMEOUT = 2.0
"""Bound on unsubscribing; also gives python-binance time to reconnect before the next subscribe."""


def balances_of(event: Mapping[str, Any]) -> dict[str, Decimal]:
    """Free balances from an outboundAccountPosition event (bad entries skipped)."""
    balances: dict[str, Decimal] = {}
    for entry in event.get("B") or []:
        try:
            balances[str(entry["a"])] = Decimal(str(entry["f"]))
        except (KeyError, TypeError, InvalidOperation):
            continue
    return balances


class UserDataStream:
    """Runs the subscription forever (`run`), handing balance updates to `on_balances`."""

    def __init__(
        self, rest: BinanceRest, ws_api_url: str, on_balances: Callable[[dict[str, Decimal]], None]
    ) -> None:
        self._rest = rest
        self._ws_api_url = ws_api_url
        self._on_balances = on_balances
        self.sessions = 0
        self.events = 0

    async def run(self) -> None:
        """Subscribe, read, and subscribe again whenever the session ends."""
        await keep_reconnecting(self._session, what="Binance user data stream")

    async def _session(self) -> None:
        socket = pybinance.user_socket(self._rest.client, self._ws_api_url)
        async with asyncio.timeout(OPEN_TIMEOUT):
            await socket.__aenter__()
        self.sessions += 1
        logger.info("Binance user data stream subscribed")
        try:
            while True:
                message = await socket.recv()
                if message.get("e") in ("error", "eventStreamTerminated"):
                    raise RuntimeError(f"{message.get('type') or message.get('e')}: {message.get('m', '')}")
                self.events += 1
                self._on_event(message)
        finally:
            await pybinance.unsubscribe(socket, CLOSE_TIMEOUT)

    def _on_event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("e")
        if kind == "outboundAccountPosition":
            self._on_balances(balances_of(event))
        elif kind == "executionReport":
            logger.info("Binance order %s %s %s %s: %s, filled %s", event.get("c"), event.get("S"),
                        event.get("s"), event.get("x"), event.get("X"), event.get("z"))
        elif kind == "balanceUpdate":
            logger.info("Binance balance change: %s %s", event.get("d"), event.get("a"))
