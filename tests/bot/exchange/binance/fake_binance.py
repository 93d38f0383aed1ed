"""A local fake of Binance spot: REST (aiohttp) and market streams (websockets), real payload shapes.

REST checks signed requests (HMAC-SHA256 of the query or body, X-MBX-APIKEY) like Binance does,
fills MARKET orders at the current price with Binance-style commissions, and can be told to fail:
a status for the next N calls of a path (with headers such as Retry-After), or an order that
executes but answers 502. Streams serve `/stream?streams=...` with the combined wrapper and can
drop every connection, refuse new ones, or go silent while staying connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

API_KEY = "fake-api-key-123"
API_SECRET = "fake-api-secret-456"
FEE = Decimal("0.001")
SIGNED = {"/api/v3/account", "/api/v3/order", "/api/v3/myTrades"}


KLINE_MS = {"1m": 60_000, "1h": 3_600_000}
"""Milliseconds per kline by the interval names the bot asks for."""


def ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Failure:
    """Answer `status` (with `body` and `headers`) to the next `times` calls of a path."""

    status: int
    times: int
    body: dict[str, Any] = field(default_factory=lambda: {"code": -1000, "msg": "An unknown error occurred."})
    headers: dict[str, str] = field(default_factory=dict)
    execute_first: bool = False
    """For POST /order: execute the order, then answer the failure (Binance's 'status unknown')."""


@dataclass
class FakeBinance:
    """State of the fake exchange; `requests` records (monotonic time, method, path) of each call."""

    prices: dict[str, Decimal] = field(default_factory=lambda: {"BTCUSDT": Decimal("65000.00"),
                                                                   "ETHUSDT": Decimal("3000.00")})
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10000), "BTC": Decimal(0),
                                                                     "ETH": Decimal(0), "BNB": Decimal(1)})
    failures: dict[str, Failure] = field(default_factory=dict)
    requests: list[tuple[float, str, str]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    pay_fees_in_bnb: bool = False
    """Charge commissions in BNB at the BNBUSDT price (Binance's fee discount option)."""
    bnb_runs_out: bool = False
    """With pay_fees_in_bnb: an order fills in two halves, the second paying in the usual asset."""
    trades_lag: int = 0
    """myTrades answers [] to this many calls (it trails the order by a moment on Binance)."""
    orders_pending: int = 0
    """GET /order reports this many times that the order is NEW with nothing executed yet."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def fail(self, path: str, status: int, times: int = 1, **kwargs: Any) -> None:
        self.failures[path] = Failure(status, times, **kwargs)

    def calls(self, path: str, method: str | None = None) -> int:
        return sum(1 for _, m, p in self.requests if p == path and (method is None or m == method))

    # -- HTTP -----------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        path = request.path
        self.requests.append((time.monotonic(), request.method, path))
        params = dict(request.query) if request.method == "GET" else dict(
            pair.split("=", 1) for pair in body.split("&") if "=" in pair)
        if path in SIGNED and not self._signature_ok(request, body):
            return web.json_response({"code": -1022, "msg": "Signature for this request is not valid."}, status=401)
        failure = self.failures.get(path)
        if failure is not None and failure.times > 0:
            failure.times -= 1
            if failure.execute_first and request.method == "POST":
                self._place(params)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        return self._route(request.method, path, params)

    def _signature_ok(self, request: web.Request, body: str) -> bool:
        raw = request.query_string if request.method == "GET" else body
        if request.headers.get("X-MBX-APIKEY") != API_KEY or "&signature=" not in raw:
            return False
        payload, signature = raw.rsplit("&signature=", 1)
        expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _route(self, method: str, path: str, params: dict[str, str]) -> web.Response:
        if path == "/api/v3/ping":
            return web.json_response({})
        if path == "/api/v3/time":
            return web.json_response({"serverTime": ms()})
        if path == "/api/v3/exchangeInfo":
            return web.json_response({"timezone": "UTC", "serverTime": ms(), "symbols": [
                self._symbol_info(s) for s in self.prices]})
        if path == "/api/v3/ticker/price":
            if "symbol" in params:
                if params["symbol"] not in self.prices:
                    return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
                return web.json_response({"symbol": params["symbol"], "price": f"{self.prices[params['symbol']]:f}"})
            return web.json_response([{"symbol": s, "price": f"{p:f}"} for s, p in self.prices.items()])
        if path == "/api/v3/klines":
            # The last `limit` klines up to endTime (default now), the current open one included.
            price = f"{self.prices[params['symbol']]:f}"
            step = KLINE_MS[params.get("interval", "1m")]
            last = min(ms(), int(params.get("endTime", ms()))) // step * step
            limit = int(params.get("limit", 500))
            return web.json_response([[last - step * i, price, price, price, price, "1.0",
                                       last - step * i + step - 1, price, 10, "0.5", price, "0"]
                                      for i in range(limit - 1, -1, -1)])
        if path == "/api/v3/account":
            return web.json_response({"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                                      "accountType": "SPOT", "updateTime": ms(), "permissions": ["SPOT"],
                                      "balances": [{"asset": a, "free": f"{v:f}", "locked": "0.00000000"}
                                                   for a, v in self.balances.items()]})
        if path == "/api/v3/order" and method == "POST":
            return web.json_response(self._place(params))
        if path == "/api/v3/order" and method == "GET":
            order = self.orders.get(params.get("origClientOrderId", ""))
            if order is None:
                return web.json_response({"code": -2013, "msg": "Order does not exist."}, status=400)
            answer = {k: v for k, v in order.items() if k != "fills"}
            if self.orders_pending > 0:
                self.orders_pending -= 1
                answer |= {"status": "NEW", "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000"}
            return web.json_response(answer)
        if path == "/api/v3/myTrades":
            if self.trades_lag > 0:
                self.trades_lag -= 1
                return web.json_response([])
            order_id = int(params["orderId"])
            return web.json_response([t for t in self.trades if t["orderId"] == order_id])
        return web.json_response({"code": -1, "msg": f"no route {method} {path}"}, status=404)

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "status": "TRADING", "baseAsset": symbol.removesuffix("USDT"),
                "quoteAsset": "USDT", "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
                    {"filterType": "NOTIONAL", "minNotional": "5.00", "applyMinToMarket": True,
                     "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5}]}

    def _place(self, params: dict[str, str]) -> dict[str, Any]:
        """Fill a MARKET order at the current price (Binance: buy fee in base, sell fee in quote)."""
        client_id = params["newClientOrderId"]
        if client_id in self.orders:  # Binance refuses a duplicate client id of a live order
            return {k: v for k, v in self.orders[client_id].items()}
        symbol, side, qty = params["symbol"], params["side"], Decimal(params["quantity"])
        price = self.prices[symbol]
        base = symbol.removesuffix("USDT")
        half = (qty / 2).quantize(Decimal("0.00001"))
        parts = [half, qty - half] if self.bnb_runs_out else [qty]
        order_id = next(self._ids)
        fills = []
        for n, part in enumerate(parts):
            quote_part = (part * price).quantize(Decimal("0.00000001"))
            if self.pay_fees_in_bnb and n == 0:
                commission, asset = (quote_part * FEE / self.prices["BNBUSDT"]).quantize(Decimal("0.00000001")), "BNB"
            elif side == "BUY":
                commission, asset = (part * FEE).quantize(Decimal("0.00000001"), rounding=ROUND_DOWN), base
            else:
                commission, asset = (quote_part * FEE).quantize(Decimal("0.00000001")), "USDT"
            sign = 1 if side == "BUY" else -1
            self.balances["USDT"] -= sign * quote_part
            self.balances[base] += sign * part
            self.balances[asset] -= commission
            trade_id = next(self._ids)
            fill = {"price": f"{price:f}", "qty": f"{part:f}", "commission": f"{commission:f}",
                    "commissionAsset": asset, "tradeId": trade_id}
            fills.append(fill)
            self.trades.append({"symbol": symbol, "id": trade_id, "orderId": order_id, "orderListId": -1,
                                "price": fill["price"], "qty": fill["qty"], "quoteQty": f"{quote_part:f}",
                                "commission": fill["commission"], "commissionAsset": asset, "time": ms(),
                                "isBuyer": side == "BUY", "isMaker": False, "isBestMatch": True})
        quote = (qty * price).quantize(Decimal("0.00000001"))
        order = {"symbol": symbol, "orderId": order_id, "orderListId": -1, "clientOrderId": client_id,
                 "transactTime": ms(), "price": "0.00000000", "origQty": f"{qty:f}", "executedQty": f"{qty:f}",
                 "cummulativeQuoteQty": f"{quote:f}", "status": "FILLED", "timeInForce": "GTC", "type": "MARKET",
                 "side": side, "workingTime": ms(), "fills": fills, "selfTradePreventionMode": "NONE"}
        self.orders[client_id] = order
        return order


@contextlib.asynccontextmanager
async def fake_rest(fake: FakeBinance) -> AsyncIterator[str]:
    """Serve `fake` over HTTP on a free loopback port; yield the base URL python-binance wants."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        await runner.cleanup()


# -- market streams -----------------------------------------------------------------------------
@dataclass
class FakeStreams:
    """A combined-stream server sending trade, kline and ticker events for the fake's prices."""

    fake: FakeBinance
    interval: float = 0.05
    silent: bool = False
    """Keep connections open but send nothing (a stall)."""
    refuse: bool = False
    """Answer new connections with HTTP 503."""
    connections: int = 0
    paths: list[str] = field(default_factory=list)
    _open: set[ServerConnection] = field(default_factory=set)
    _server: Server | None = None

    def drop(self) -> None:
        """Cut every open connection (as a crash or the 24 h limit would)."""
        for ws in list(self._open):
            ws.transport.abort()

    async def shutdown_notice(self) -> None:
        """Send serverShutdown on every connection (Binance's warning before maintenance)."""
        for ws in list(self._open):
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"stream": "serverShutdown", "data": {"e": "serverShutdown", "E": ms()}}))

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refuse:
            return connection.respond(503, "unavailable\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.paths.append(ws.request.path if ws.request else "")
        self._open.add(ws)
        streams = ws.request.path.split("streams=", 1)[1].split("/") if ws.request else []
        try:
            for n in itertools.count():
                await asyncio.sleep(self.interval)
                if self.silent:
                    continue
                for stream in streams:
                    await ws.send(json.dumps({"stream": stream, "data": self._payload(stream, n)}))
        except ConnectionClosed:
            pass
        finally:
            self._open.discard(ws)

    def _payload(self, stream: str, n: int) -> dict[str, Any]:
        symbol, kind = stream.split("@", 1)
        symbol = symbol.upper()
        price = f"{self.fake.prices[symbol]:f}"
        now = ms()
        if kind == "trade":
            return {"e": "trade", "E": now, "s": symbol, "t": n, "p": price, "q": "0.01", "T": now,
                    "m": False, "M": True}
        if kind.startswith("kline_"):
            start = now // 60_000 * 60_000
            return {"e": "kline", "E": now, "s": symbol, "k": {
                "t": start, "T": start + 59_999, "s": symbol, "i": "1m", "f": n, "L": n, "o": price, "c": price,
                "h": price, "l": price, "v": "1", "n": 1, "x": False, "q": price, "V": "0.5", "Q": "0.5", "B": "0"}}
        return {"e": "24hrTicker", "E": now, "s": symbol, "p": "0", "P": "0.00", "w": price, "x": price, "c": price,
                "Q": "0.01", "b": price, "B": "1", "a": price, "A": "1", "o": price, "h": price, "l": price,
                "v": "100", "q": "100", "O": now - 86_400_000, "C": now, "F": 0, "L": n, "n": n + 1}


@contextlib.asynccontextmanager
async def fake_streams(streams: FakeStreams) -> AsyncIterator[str]:
    """Serve `streams` on a free loopback port; yield the STREAM_URL python-binance wants."""
    async with serve(streams._handler, "127.0.0.1", 0, process_request=streams._process_request) as server:
        streams._server = server
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"


# -- WebSocket API (user data stream) -----------------------------------------------------------
@dataclass
class FakeWsApi:
    """Answers `userDataStream.subscribe.signature` (signature checked) and pushes user events."""

    subscribes: int = 0
    bad_signatures: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified on every subscription."""
    _subscribed: set[ServerConnection] = field(default_factory=set)

    async def subscribed(self, count: int, timeout: float = 15) -> None:
        """Wait until `count` subscriptions were made in all."""
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(lambda: self.subscribes >= count)

    async def push(self, event: dict[str, Any]) -> None:
        """Send `event` to every subscribed connection, in the WebSocket API's wrapper."""
        for ws in list(self._subscribed):
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"subscriptionId": 0, "event": event}))

    def drop(self) -> None:
        """Cut every connection (python-binance reconnects but does not subscribe again)."""
        for ws in list(self._subscribed):
            ws.transport.abort()
        self._subscribed.clear()

    async def _handler(self, ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                request = json.loads(raw)
                if request.get("method") == "userDataStream.subscribe.signature":
                    params = dict(request["params"])
                    signature = params.pop("signature", "")
                    expected = hmac.new(API_SECRET.encode(), urlencode(params).encode(), hashlib.sha256).hexdigest()
                    if params.get("apiKey") != API_KEY or not hmac.compare_digest(expected, signature):
                        self.bad_signatures += 1
                        await ws.send(json.dumps({"id": request["id"], "status": 401, "error": {
                            "code": -1022, "msg": "Signature for this request is not valid."}}))
                        continue
                    self._subscribed.add(ws)
                    async with self.changed:
                        self.subscribes += 1
                        self.changed.notify_all()
                    await ws.send(json.dumps({"id": request["id"], "status": 200, "result": {"subscriptionId": 0}}))
                else:
                    await ws.send(json.dumps({"id": request.get("id"), "status": 200, "result": {}}))
        except ConnectionClosed:
            pass
        finally:
            self._subscribed.discard(ws)


@contextlib.asynccontextmanager
async def fake_ws_api(api: FakeWsApi) -> AsyncIterator[str]:
    """Serve `api` on a free loopback port; yield its ws-api URL."""
    async with serve(api._handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws-api/v3"
