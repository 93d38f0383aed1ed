"""The user data stream against a local fake WebSocket API: balances pushed, re-subscribed after a drop."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from bot.connectivity import Connectivity
from bot.exchange.binance.rest import BinanceRest
from bot.exchange.binance.user_stream import UserDataStream, balances_of
from tests.bot.exchange.binance.fake_binance import API_KEY, API_SECRET, FakeBinance, FakeWsApi, fake_rest, fake_ws_api


def position(**free: str) -> dict[str, object]:
    return {"e": "outboundAccountPosition", "E": 1, "u": 1,
            "B": [{"a": asset, "f": amount, "l": "0.00000000"} for asset, amount in free.items()]}


async def balances_become(connectivity: Connectivity, expected: dict[str, Decimal]) -> None:
    """Wait on the connectivity's change signal until the balances are `expected`."""
    async with asyncio.timeout(15):
        while connectivity.balances != expected:
            connectivity.changed.clear()
            await connectivity.changed.wait()


async def test_balances_are_pushed_and_the_subscription_survives_a_drop() -> None:
    api, connectivity = FakeWsApi(), Connectivity()
    async with fake_rest(FakeBinance()) as rest_url, fake_ws_api(api) as ws_api_url:
        rest = BinanceRest.create(rest_url=rest_url, api_key=API_KEY, api_secret=API_SECRET,
                                  connectivity=connectivity, fail_max=5, reset_timeout=60)
        stream = UserDataStream(rest, ws_api_url, connectivity.set_balances)
        task = asyncio.create_task(stream.run())
        try:
            await api.subscribed(1)
            await api.push(position(USDT="9000.5", BTC="0.01"))
            await balances_become(connectivity, {"USDT": Decimal("9000.5"), "BTC": Decimal("0.01")})
            assert api.bad_signatures == 0

            api.drop()  # python-binance reconnects its socket but would never subscribe again
            await api.subscribed(2)
            await api.push(position(BTC="0"))  # sold out: the asset disappears
            await balances_become(connectivity, {"USDT": Decimal("9000.5")})
            assert stream.sessions == 2
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await rest.close()


def test_balance_events_with_bad_entries_keep_the_good_ones() -> None:
    event = {"e": "outboundAccountPosition", "B": [{"a": "ETH", "f": "1.5"}, {"a": "X"}, {"a": "Y", "f": "abc"}]}
    assert balances_of(event) == {"ETH": Decimal("1.5")}
