"""Binance as an Exchange against the local fake: symbols checked, the account read only when trading."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.connectivity import Connectivity
from bot.errors import ConfigError, ExchangeUnavailableError
from bot.exchange.base import Exchange
from bot.exchange.binance.broker import BinanceBroker
from bot.exchange.binance.exchange import BinanceExchange
from bot.exchange.binance.market import BinanceMarket
from bot.exchange.binance.rest import BinanceRest
from tests.bot.exchange.binance.fake_binance import FakeBinance

ACCOUNT = "/api/v3/account"


def binance(
    rest: BinanceRest, connectivity: Connectivity, *, trading: bool, symbols: tuple[str, ...] = ("BTCUSDT",)
) -> BinanceExchange:
    market = BinanceMarket(rest=rest, stream_url="ws://unused/", symbols=symbols, connectivity=connectivity,
                           tick_interval=1, stall_timeout=1, poll_interval=1)
    orders = BinanceBroker(rest, "USDT", live=False, on_balances=connectivity.set_balances)
    return BinanceExchange(rest, connectivity, market, orders, symbols=symbols, trading=trading)


async def test_trading_reads_the_account_at_connect(
    rest: BinanceRest, connectivity: Connectivity, fake: FakeBinance
) -> None:
    exchange: Exchange = binance(rest, connectivity, trading=True)
    await exchange.connect()
    assert isinstance(exchange.broker, BinanceBroker) and exchange.name == "binance"
    assert connectivity.balances == {"USDT": Decimal(10000), "BNB": Decimal(1)}  # zero balances left out
    assert fake.calls(ACCOUNT) == 1 and fake.calls("/api/v3/time") == 1


async def test_paper_trading_on_its_prices_leaves_the_account_alone(
    rest: BinanceRest, connectivity: Connectivity, fake: FakeBinance
) -> None:
    exchange = binance(rest, connectivity, trading=False)
    await exchange.connect()
    assert exchange.broker is None and fake.calls(ACCOUNT) == 0 and fake.calls("/api/v3/exchangeInfo") == 1
    running = asyncio.create_task(exchange.run())  # no user data stream to follow: it only waits
    await asyncio.sleep(0.05)
    assert not running.done()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_symbol_binance_does_not_list_is_a_config_error(rest: BinanceRest, connectivity: Connectivity) -> None:
    exchange = binance(rest, connectivity, trading=True, symbols=("BTCUSDT", "NOPEUSDT"))
    with pytest.raises(ConfigError) as caught:
        await exchange.connect()
    assert caught.value.setting == "SYMBOLS" and "NOPEUSDT" in caught.value.message and rest.url in caught.value.message


async def test_an_exchange_that_does_not_answer_is_an_exchange_error(
    rest: BinanceRest, connectivity: Connectivity, fake: FakeBinance
) -> None:
    fake.fail("/api/v3/exchangeInfo", 503)
    with pytest.raises(ExchangeUnavailableError):
        await binance(rest, connectivity, trading=True).connect()
    assert fake.calls(ACCOUNT) == 0  # nothing more is asked of an exchange that is down
