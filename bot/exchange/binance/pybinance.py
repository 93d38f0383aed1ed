"""python-binance, adapted: the only module that imports it, and every reach into its internals.

python-binance 1.0.37 has no public way to do four things the bot needs, so each is done here
through an attribute or a private name, and an upgrade of the library is checked in this file
(and by the tests against the local fake in tests/bot/exchange/binance):

* point it at another server (the testnet, a proxy, the tests' local fake): `API_URL`,
  `STREAM_URL` and the WebSocket API's `_url` are overwritten, there is no setting for them;
* set the clock offset signed requests use without its own blocking start-up call;
* leave a socket whose connection is reconnecting: its `__aexit__` can wait forever then, so
  the read loop is stopped (`ws_state`, the loop's task) and the connection closed directly;
* tell which of its tasks reads which socket: it starts the read loop with `call_soon` and
  keeps no handle to the task, so the task is recognised by its coroutine's frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, TypeAlias

from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException, BinanceRequestException
from binance.ws.reconnecting_websocket import WSListenerState

from bot_api.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

__all__ = [
    "AsyncClient", "BinanceAPIException", "BinanceRequestException", "Socket", "client", "close_client",
    "leave_socket", "market_socket", "open_socket", "set_clock_offset", "unsubscribe", "user_socket",
]

Socket: TypeAlias = Any
"""One of python-binance's websockets, a ReconnectingWebsocket (market streams, or the user data
subscription); Any because the library has no type hints."""


def client(rest_url: str, api_key: str, api_secret: str) -> AsyncClient:
    """A client whose every /api/v3 call goes to `rest_url` (no network I/O; inside the event loop)."""
    made = AsyncClient(api_key or None, api_secret or None)
    made.API_URL = rest_url.rstrip("/")  # one attribute redirects every REST call
    return made


def set_clock_offset(api: AsyncClient, offset_ms: int) -> None:
    """Sign requests with the exchange's clock: `offset_ms` = server time - local time."""
    api.timestamp_offset = offset_ms


async def close_client(api: AsyncClient, within: float) -> None:
    """Close the HTTP session, then the WebSocket API within `within` s (it may wait out a 10 s read)."""
    await api.session.close()
    try:
        async with asyncio.timeout(within):
            await api.ws_api.close()
    except Exception as exc:  # noqa: BLE001 - shutting down: report and go on
        logger.info("closing Binance's WebSocket API connection: %s", exc)


def market_socket(api: AsyncClient, stream_url: str, streams: list[str], queue_size: int) -> Socket:
    """One multiplex connection to `stream_url` carrying `streams` (not connected yet)."""
    manager = BinanceSocketManager(api, max_queue_size=queue_size)
    manager.STREAM_URL = stream_url if stream_url.endswith("/") else stream_url + "/"
    return manager.multiplex_socket(streams)


def user_socket(api: AsyncClient, ws_api_url: str) -> Socket:
    """The user data stream, subscribed over the WebSocket API at `ws_api_url` (not connected yet)."""
    api.ws_api._url = ws_api_url  # no setter: the testnet's or the fake's address goes in here
    return BinanceSocketManager(api).user_socket()


async def open_socket(socket: Socket, within: float) -> list[asyncio.Task[Any]]:
    """Connect `socket` within `within` s; return the library's read-loop task(s) of it, for `leave_socket`."""
    before = asyncio.all_tasks()
    async with asyncio.timeout(within):
        await socket.__aenter__()
    await asyncio.sleep(0)  # the library starts its read loop with call_soon
    return [t for t in asyncio.all_tasks() - before if _reads_for(t, socket)]


async def leave_socket(socket: Socket, readers: list[asyncio.Task[Any]], within: float) -> None:
    """Stop reading, and close the connection within `within` s (not `__aexit__`: it can hang while reconnecting)."""
    socket.ws_state = WSListenerState.EXITING
    await cancel_and_wait(*readers)
    if socket.ws is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(within):
                await socket.ws.close()


async def unsubscribe(socket: Socket, within: float) -> None:
    """End a user data subscription within `within` s (the library unsubscribes, and may wait 10 s for an answer)."""
    socket.ws_state = WSListenerState.EXITING
    try:
        async with asyncio.timeout(within):
            await socket.__aexit__(None, None, None)
    except Exception as exc:  # noqa: BLE001 - closing a dead subscription may fail in many ways
        logger.info("closing the user data stream: %s", exc)


def _reads_for(task: asyncio.Task[Any], socket: Socket) -> bool:
    """Whether `task` is the library's read loop of `socket` (not another socket's, e.g. the user stream's)."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    return frame is not None and frame.f_code.co_name == "_read_loop" and frame.f_locals.get("self") is socket
