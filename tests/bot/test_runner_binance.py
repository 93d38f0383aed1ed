"""The whole bot on Binance (local fakes): stream prices, real orders on the fake, health pushed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.errors import ConfigError
from bot.runner import run
from bot_api.events import StatusEvent, TradeExecutedEvent
from tests.bot.exchange.binance.fake_binance import (
    API_KEY,
    API_SECRET,
    FakeBinance,
    FakeStreams,
    FakeWsApi,
    fake_rest,
    fake_streams,
    fake_ws_api,
)
from tests.bot.in_process import Collector, of_type, running


@contextlib.asynccontextmanager
async def binance(
    fake: FakeBinance, ws_api: FakeWsApi | None = None
) -> AsyncIterator[tuple[FakeStreams, dict[str, str]]]:
    """Fake REST and streams, prices swinging so SMA 2/4 crosses often; yield the bot's settings."""
    streams = FakeStreams(fake)

    async def swing() -> None:
        for n in range(10**6):
            fake.prices["BTCUSDT"] = Decimal(65000 + round(400 * math.sin(n / 3), 2)).quantize(Decimal("0.01"))
            await asyncio.sleep(0.05)

    async with (fake_rest(fake) as rest_url, fake_streams(streams) as stream_url,
                fake_ws_api(ws_api or FakeWsApi()) as ws_api_url):
        task = asyncio.create_task(swing())
        try:
            yield streams, {
                "MARKET_DATA": "binance", "BROKER": "binance", "BINANCE_API_KEY": API_KEY,
                "BINANCE_API_SECRET": API_SECRET, "BINANCE_REST_URL": rest_url, "BINANCE_STREAM_URL": stream_url,
                "BINANCE_WS_API_URL": ws_api_url,
                "SYMBOLS": "BTCUSDT", "TICK_INTERVAL": "0.05", "SMA_FAST": "2", "SMA_SLOW": "4",
                "STRATEGY_TIMEFRAME": "0", "REST_POLL_INTERVAL": "0.2",
            }
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def settings_of(env: dict[str, str], redis_url: str, redis_prefix: str, tmp_path: Path) -> BotSettings:
    return BotSettings.from_env({**env, "REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix,
                                 "VAR_DIR": str(tmp_path / "var")})


async def test_the_bot_trades_on_binance_and_pushes_the_exchange_health(
    redis_url: str, redis_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeBinance()
    async with binance(fake) as (streams, env):
        settings = settings_of(env, redis_url, redis_prefix, tmp_path)
        async with Collector(redis_url, settings.keys) as events, running(settings):
            def streaming(e: object) -> bool:
                return isinstance(e, StatusEvent) and e.data.exchange is not None and e.data.exchange.source == "stream"

            status = await events.wait_for(streaming)
            assert isinstance(status, StatusEvent) and status.data.exchange is not None
            assert (status.data.mode, status.data.market_data) == ("binance-testnet", "binance")
            assert status.data.exchange.breaker == "closed" and not status.data.exchange.offline

            trade = await events.wait_for(of_type("trade_executed"))
            assert isinstance(trade, TradeExecutedEvent)
            assert trade.data.trade_id.startswith("binance-") and trade.data.order_id in fake.orders
            assert trade.data.side.value == "buy" and trade.data.fee_asset == "BTC"

            def holding_btc(e: object) -> bool:
                return (isinstance(e, StatusEvent) and e.data.exchange is not None
                        and e.data.exchange.balances.get("BTC", 0) > 0)

            await events.wait_for(holding_btc)  # the account's balances, read after the fill

            mark = len(events.events)
            streams.refuse = True
            streams.drop()

            def on_rest(e: object) -> bool:
                return isinstance(e, StatusEvent) and e.data.exchange is not None and e.data.exchange.source == "rest"

            await events.wait_for(on_rest, start=mark)  # pushed, not waiting for the next trade
            streams.refuse = False
            await events.wait_for(streaming, start=mark)
    # The exchange keys never leave the bot: not in one published event, not in one log line.
    published = "".join(e.model_dump_json() for e in events.events)  # type: ignore[attr-defined]
    assert API_KEY not in published and API_SECRET not in published
    assert API_KEY not in caplog.text and API_SECRET not in caplog.text


async def test_a_symbol_binance_does_not_list_stops_the_bot_at_start(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    fake = FakeBinance()
    async with binance(fake) as (_, env):
        settings = settings_of({**env, "SYMBOLS": "BTCUSDT,NOPEUSDT"}, redis_url, redis_prefix, tmp_path)
        with pytest.raises(ConfigError) as caught:
            async with asyncio.timeout(10):
                await run(settings, stop_event=asyncio.Event())
        assert caught.value.setting == "SYMBOLS" and "NOPEUSDT" in caught.value.message


async def test_paper_trading_on_binance_prices_never_touches_the_account(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    fake, ws_api = FakeBinance(), FakeWsApi()
    async with binance(fake, ws_api) as (_, env):
        paper = {**env, "BROKER": "paper", "BINANCE_API_KEY": "", "BINANCE_API_SECRET": ""}
        settings = settings_of(paper, redis_url, redis_prefix, tmp_path)
        async with Collector(redis_url, settings.keys) as events, running(settings):
            trade = await events.wait_for(of_type("trade_executed"))
            assert isinstance(trade, TradeExecutedEvent) and (trade.data.order_id or "").startswith("paper-")
            status = await events.wait_for(of_type("status"))
            assert isinstance(status, StatusEvent) and status.data.exchange is not None
            assert (status.data.mode, status.data.market_data) == ("paper", "binance")
    assert fake.calls("/api/v3/klines") > 0  # the chart was seeded from Binance
    # Prices only: no order, no account read, no user data subscription.
    assert fake.calls("/api/v3/order") == fake.calls("/api/v3/account") == 0 and ws_api.subscribes == 0
