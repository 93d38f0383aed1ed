"""Binance market data against local fake REST and stream servers: fallback, return, stalls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from bot.connectivity import Connectivity
from bot.exchange.binance.market import BinanceMarket, price_of, stream_names
from bot.exchange.binance.rest import BinanceRest
from bot.market.base import Tick
from tests.bot.exchange.binance.fake_binance import FakeBinance, FakeStreams, fake_rest, fake_streams


@dataclass
class Running:
    fake: FakeBinance
    streams: FakeStreams
    connectivity: Connectivity
    market: BinanceMarket
    ticks: list[tuple[Tick, str]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def source(self, wanted: str, timeout: float = 15) -> float:
        """Wait until the price source is `wanted`; return when that happened (monotonic)."""
        async with asyncio.timeout(timeout):
            while self.connectivity.source != wanted:
                self.connectivity.changed.clear()
                await self.connectivity.changed.wait()
        return time.monotonic()

    async def tick_at(self, symbol: str, price: Decimal, timeout: float = 10) -> tuple[Tick, str]:
        """Wait for a tick of `symbol` at `price`; return it and the source that delivered it."""
        def found() -> tuple[Tick, str] | None:
            return next(((t, src) for t, src in self.ticks if t.symbol == symbol and t.price == price), None)

        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: found() is not None)
        match = found()
        assert match is not None
        return match


@contextlib.asynccontextmanager
async def running(stall_timeout: float = 5) -> AsyncIterator[Running]:
    fake, connectivity = FakeBinance(), Connectivity()
    streams = FakeStreams(fake)
    async with fake_rest(fake) as rest_url, fake_streams(streams) as stream_url:
        rest = BinanceRest.create(rest_url=rest_url, api_key="", api_secret="", connectivity=connectivity,
                                  fail_max=5, reset_timeout=60)
        market = BinanceMarket(rest=rest, stream_url=stream_url, symbols=("BTCUSDT", "ETHUSDT"),
                               connectivity=connectivity, tick_interval=0.05, stall_timeout=stall_timeout,
                               poll_interval=0.2)
        run = Running(fake, streams, connectivity, market)

        async def consume() -> None:
            async for tick in market.ticks():
                async with run.arrived:
                    run.ticks.append((tick, connectivity.source))
                    run.arrived.notify_all()

        task = asyncio.create_task(consume())
        try:
            yield run
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await rest.close()


async def test_a_dropped_stream_falls_back_to_rest_within_2_s_and_comes_back() -> None:
    async with running() as run:
        await run.source("stream")
        assert run.streams.paths[0] == "/stream?streams=" + "/".join(stream_names(("BTCUSDT", "ETHUSDT")))
        await run.tick_at("BTCUSDT", Decimal("65000.00"))

        run.streams.refuse = True  # down, and it stays down for a while
        dropped = time.monotonic()
        run.streams.drop()
        fell_back = await run.source("rest")
        assert fell_back - dropped < 2.0, fell_back - dropped
        run.fake.prices["BTCUSDT"] = Decimal("66000.00")
        _, source = await run.tick_at("BTCUSDT", Decimal("66000.00"))
        assert source == "rest"  # prices keep coming, from REST

        run.streams.refuse = False
        await run.source("stream")
        run.fake.prices["BTCUSDT"] = Decimal("67000.00")
        _, source = await run.tick_at("BTCUSDT", Decimal("67000.00"))
        assert source == "stream" and run.market.sessions == 2


async def test_a_silent_stream_is_detected_and_replaced() -> None:
    async with running(stall_timeout=1) as run:
        await run.source("stream")
        run.streams.silent = True  # open, answering pings, sending nothing: python-binance waits forever
        silenced = time.monotonic()
        detected = await run.source("rest")
        assert detected - silenced >= 0.9  # only after STALL_TIMEOUT, and then REST fills in
        run.streams.silent = False
        await run.source("stream")
        assert run.streams.connections >= 2


async def test_server_shutdown_makes_the_bot_reconnect() -> None:
    async with running() as run:
        await run.source("stream")
        await run.streams.shutdown_notice()
        await run.source("rest")  # the session ended: REST fills in
        await run.source("stream")  # and a new connection delivers
        assert run.streams.connections == 2


async def test_no_prices_at_all_is_said_plainly() -> None:
    async with running() as run:
        await run.source("stream")
        run.streams.refuse = True
        run.fake.fail("/api/v3/ticker/price", 502, times=1000)
        run.streams.drop()
        await run.source("none")
        assert run.connectivity.offline and "502" in (run.connectivity.detail or "")


def test_price_parsing_takes_only_valid_prices() -> None:
    assert price_of({"e": "trade", "s": "BTCUSDT", "p": "1.5"}) == ("BTCUSDT", Decimal("1.5"))
    assert price_of({"e": "kline", "s": "BTCUSDT", "k": {"c": "2"}}) == ("BTCUSDT", Decimal(2))
    assert price_of({"e": "24hrTicker", "s": "BTCUSDT", "c": "3"}) == ("BTCUSDT", Decimal(3))
    for junk in ({"e": "trade", "s": "BTCUSDT", "p": "NaN"}, {"e": "trade", "s": "BTCUSDT", "p": "-1"},
                 {"e": "trade", "s": "BTCUSDT", "p": "x"}, {"e": "depth", "s": "BTCUSDT"}, {"e": "trade", "p": "1"}):
        assert price_of(junk) is None


async def test_a_connection_is_renewed_before_binance_s_24_h_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.exchange.binance.market.MAX_CONNECTION_AGE", 0.5)  # 23.5 h in production
    async with running() as run:
        await run.source("stream")
        await run.source("rest")  # renewed: the old session ended
        await run.source("stream")
        assert run.streams.connections >= 2


def test_an_older_message_does_not_replace_a_newer_price() -> None:
    market = BinanceMarket(rest=None, stream_url="ws://unused/", symbols=("BTCUSDT",),  # type: ignore[arg-type]
                           connectivity=Connectivity(), tick_interval=1, stall_timeout=1, poll_interval=1)
    market._on_message({"stream": "btcusdt@trade", "data": {"e": "trade", "E": 2000, "s": "BTCUSDT", "p": "10"}})
    # The ticker's once-a-second summary was made before that trade: it must not win.
    market._on_message({"stream": "btcusdt@ticker", "data": {"e": "24hrTicker", "E": 1500, "s": "BTCUSDT", "c": "9"}})
    assert market._latest["BTCUSDT"] == 10
    market._on_message({"stream": "btcusdt@ticker", "data": {"e": "24hrTicker", "E": 2500, "s": "BTCUSDT", "c": "11"}})
    assert market._latest["BTCUSDT"] == 11
