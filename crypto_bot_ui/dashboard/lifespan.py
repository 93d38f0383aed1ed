"""The web process's ASGI lifespan: at shutdown its background tasks stop for sure.

After the sockets close, Uvicorn cancels every task left, once. On Python 3.11 a cancel that
meets redis-py's inner `wait_for` can be lost, and a relay or listener loop then carries on: the
process never exits (seen once in the benchmark's memory run). So shutdown stops them first, with
`cancel_and_wait`. Daphne sends no lifespan events (its reactor stops the loop without cancelling).
"""

from __future__ import annotations

import logging
from typing import Any

from crypto_bot_ui.dashboard.guard import close_guard
from crypto_bot_ui.dashboard.relay import close_relay

logger = logging.getLogger(__name__)


async def lifespan(scope: Any, receive: Any, send: Any) -> None:
    """Answer startup at once; at shutdown stop the relay and the session guard, then answer."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for close in (close_relay, close_guard):
                try:
                    await close()
                except Exception:  # stopping must not fail the exit: said, and the next one stops
                    logger.exception("stopping the background tasks failed (%s)", close.__name__)
            await send({"type": "lifespan.shutdown.complete"})
            return
