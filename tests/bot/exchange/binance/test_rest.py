"""REST guards against the local fake Binance: breaker, Retry-After, signatures, error classes."""

from __future__ import annotations

import asyncio

import pytest

from bot.connectivity import Connectivity
from bot.errors import ExchangeOfflineError, ExchangeRejectedError, ExchangeUnavailableError, RateLimitedError
from bot.exchange.binance.rest import BinanceRest
from tests.bot.exchange.binance.fake_binance import API_KEY, API_SECRET, FakeBinance, fake_rest

TICKER = "/api/v3/ticker/price"


async def test_five_failures_open_the_breaker_then_a_trial_closes_it(
    rest: BinanceRest, fake: FakeBinance, connectivity: Connectivity
) -> None:
    fake.fail(TICKER, 500, times=5)
    for _ in range(4):
        with pytest.raises(ExchangeUnavailableError):
            await rest.call("ticker", rest.client.get_symbol_ticker)
        assert rest.state == "closed"
    with pytest.raises(ExchangeOfflineError):  # the fifth failure trips it
        await rest.call("ticker", rest.client.get_symbol_ticker)
    assert rest.state == "open" and connectivity.breaker == "open" and connectivity.offline
    with pytest.raises(ExchangeOfflineError):
        await rest.call("ticker", rest.client.get_symbol_ticker)
    assert fake.calls(TICKER) == 5  # while open, nothing reaches the exchange

    await asyncio.sleep(0.6)  # reset_timeout (60 s in production) passes: the next call is a trial
    prices = await rest.call("ticker", rest.client.get_symbol_ticker)
    assert {p["symbol"] for p in prices} == {"BTCUSDT", "ETHUSDT"}
    assert rest.state == "closed" and connectivity.breaker == "closed" and not connectivity.offline


async def test_a_failed_trial_opens_it_again(rest: BinanceRest, fake: FakeBinance) -> None:
    fake.fail(TICKER, 503, times=6)
    for _ in range(5):
        with pytest.raises(ExchangeUnavailableError):
            await rest.call("ticker", rest.client.get_symbol_ticker)
    await asyncio.sleep(0.6)
    with pytest.raises(ExchangeOfflineError):
        await rest.call("ticker", rest.client.get_symbol_ticker)  # the trial fails
    assert rest.state == "open" and fake.calls(TICKER) == 6


async def test_client_errors_do_not_open_the_breaker(rest: BinanceRest, fake: FakeBinance) -> None:
    for _ in range(8):
        with pytest.raises(ExchangeRejectedError) as caught:
            await rest.call("ticker", rest.client.get_symbol_ticker, symbol="NOPEUSDT")
    assert caught.value.code == -1121 and rest.state == "closed"


async def test_retry_after_is_obeyed(rest: BinanceRest, fake: FakeBinance) -> None:
    fake.fail(TICKER, 429, times=1, body={"code": -1003, "msg": "Too many requests."}, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitedError) as caught:
        await rest.call("ticker", rest.client.get_symbol_ticker)
    assert caught.value.retry_after == 1
    with pytest.raises(RateLimitedError):  # refused locally: the exchange is not asked again
        await rest.call("ticker", rest.client.get_symbol_ticker)
    assert fake.calls(TICKER) == 1
    await asyncio.sleep(rest.retry_after())
    await rest.call("ticker", rest.client.get_symbol_ticker)
    first, second = (t for t, _, p in fake.requests if p == TICKER)
    assert second - first >= 1.0 and rest.state == "closed"  # a 429 is not an outage


async def test_signed_requests_carry_a_valid_signature(fake: FakeBinance) -> None:
    async with fake_rest(fake) as url:
        good = BinanceRest.create(rest_url=url, api_key=API_KEY, api_secret=API_SECRET,
                                  connectivity=Connectivity(), fail_max=5, reset_timeout=60)
        bad = BinanceRest.create(rest_url=url, api_key=API_KEY, api_secret="wrong-secret-000",
                                 connectivity=Connectivity(), fail_max=5, reset_timeout=60)
        try:
            await good.sync_time()
            account = await good.call("account", good.client.get_account)
            assert {b["asset"] for b in account["balances"]} >= {"USDT", "BTC"}
            with pytest.raises(ExchangeRejectedError) as caught:
                await bad.call("account", bad.client.get_account)
            assert caught.value.code == -1022
        finally:
            await good.close()
            await bad.close()


async def test_a_hung_exchange_counts_as_a_failure(fake: FakeBinance) -> None:
    async def hang(request: object) -> None:
        await asyncio.sleep(1)  # far past the call timeout; short so the server stops quickly

    fake.handle = hang  # type: ignore[assignment,method-assign]
    async with fake_rest(fake) as url:
        rest = BinanceRest.create(rest_url=url, api_key="", api_secret="", connectivity=Connectivity(),
                                  fail_max=1, reset_timeout=60)
        rest.call_timeout = 0.3
        try:
            with pytest.raises(ExchangeOfflineError):
                await rest.call("ping", rest.client.ping)
            assert rest.state == "open"
        finally:
            await rest.close()


async def test_a_cancelled_call_stays_a_cancellation(fake: FakeBinance) -> None:
    arrived = asyncio.Event()

    async def hang(request: object) -> None:
        arrived.set()
        await asyncio.sleep(1)

    fake.handle = hang  # type: ignore[assignment,method-assign]
    async with fake_rest(fake) as url:
        rest = BinanceRest.create(rest_url=url, api_key="", api_secret="", connectivity=Connectivity(),
                                  fail_max=1, reset_timeout=0.2)

        async def cancel_a_call() -> None:
            arrived.clear()
            call = asyncio.create_task(rest.call("ping", rest.client.ping))
            await asyncio.wait_for(arrived.wait(), 5)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):  # not turned into ExchangeOfflineError
                await call

        try:
            await cancel_a_call()
            assert rest.state == "closed"  # with fail_max=1, one counted failure would open it
            rest.breaker.open()
            await asyncio.sleep(0.3)  # reset_timeout passes: the next call is a trial
            await cancel_a_call()
            assert rest.state == "open"  # a trial that never finished proves nothing: still open
        finally:
            await rest.close()
