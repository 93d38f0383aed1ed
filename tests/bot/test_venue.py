"""The venue: MARKET_DATA looked up in the exchange registry, orders to paper or to that exchange."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest

from bot import venue
from bot.broker.paper import PaperBroker
from bot.candles import ChartCandles
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import ConfigError, ExchangeUnavailableError
from bot.exchange.binance.broker import BinanceBroker
from bot.exchange.sim import NoKlines
from bot.market.base import Tick
from tests.bot.exchange.binance.fake_binance import API_KEY, API_SECRET, FakeBinance, fake_rest


class StubExchange:
    """An exchange whose `connect` raises `failure`; records whether it was closed."""

    name = "stub"
    broker = None

    def __init__(self, failure: Exception | None = None) -> None:
        self.connectivity = Connectivity("none")
        self.history = NoKlines()
        self.failure = failure
        self.closed = False

    async def ticks(self) -> AsyncIterator[Tick]:
        return
        yield  # an async generator that ends at once

    async def connect(self) -> None:
        if self.failure is not None:
            raise self.failure

    def fill_history(self, candles: ChartCandles, now: datetime) -> None:
        pass

    async def run(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


def binance_env(rest_url: str, **more: str) -> BotSettings:
    return BotSettings.from_env({"MARKET_DATA": "binance", "BINANCE_REST_URL": rest_url, "SYMBOLS": "BTCUSDT",
                                 "BINANCE_STREAM_URL": "ws://127.0.0.1:9/", **more})


async def test_the_default_is_the_simulator_with_paper_fills() -> None:
    opened = await venue.open_venue(BotSettings.from_env({}))
    assert opened.exchange.name == opened.market.name == "sim" and isinstance(opened.broker, PaperBroker)
    assert opened.connectivity.source == "sim"
    await opened.close()


async def test_paper_trading_on_binance_prices(fake: FakeBinance) -> None:
    async with fake_rest(fake) as url:
        opened = await venue.open_venue(binance_env(url))
        try:
            assert opened.exchange.name == "binance" and isinstance(opened.broker, PaperBroker)
            assert opened.exchange.broker is None and fake.calls("/api/v3/account") == 0
        finally:
            await opened.close()


async def test_orders_on_binance_go_to_its_broker(fake: FakeBinance) -> None:
    async with fake_rest(fake) as url:
        settings = binance_env(url, BROKER="binance", BINANCE_API_KEY=API_KEY, BINANCE_API_SECRET=API_SECRET)
        opened = await venue.open_venue(settings)
        try:
            assert isinstance(opened.broker, BinanceBroker) and opened.broker is opened.exchange.broker
            assert opened.connectivity.balances["USDT"] == Decimal(10000)  # read at start
        finally:
            await opened.close()


async def test_an_exchange_down_at_start_is_not_fatal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub = StubExchange(ExchangeUnavailableError("HTTP 503"))
    monkeypatch.setitem(venue.EXCHANGES, "sim", lambda settings, *, trading: stub)
    opened = await venue.open_venue(BotSettings.from_env({}))
    assert opened.exchange is stub and not stub.closed and isinstance(opened.broker, PaperBroker)
    assert any(r.levelno == logging.WARNING and "HTTP 503" in r.getMessage() for r in caplog.records)


async def test_a_config_error_at_connect_closes_the_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubExchange(ConfigError("SYMBOLS", "not listed: NOPEUSDT"))
    monkeypatch.setitem(venue.EXCHANGES, "sim", lambda settings, *, trading: stub)
    with pytest.raises(ConfigError):
        await venue.open_venue(BotSettings.from_env({}))
    assert stub.closed


async def test_an_exchange_that_is_not_registered_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(venue.EXCHANGES, "sim")
    with pytest.raises(ConfigError) as caught:
        await venue.open_venue(BotSettings.from_env({}))
    assert caught.value.setting == "MARKET_DATA"

