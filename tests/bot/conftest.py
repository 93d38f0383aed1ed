"""Bot tests run in a temporary folder, so the default VAR_DIR ("var") never touches the repo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.connectivity import Connectivity
from bot.exchange.binance.rest import BinanceRest
from tests.bot.exchange.binance.fake_binance import API_KEY, API_SECRET, FakeBinance, fake_rest


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake() -> FakeBinance:
    """The fake exchange's state (prices, balances, orders, injected failures)."""
    return FakeBinance()


@pytest.fixture
def connectivity() -> Connectivity:
    """The exchange health the REST client reports its breaker state to."""
    return Connectivity()


@pytest.fixture
async def rest(fake: FakeBinance, connectivity: Connectivity) -> AsyncIterator[BinanceRest]:
    """The guarded REST client pointed at `fake` over loopback (breaker: 5 failures, 0.5 s)."""
    async with fake_rest(fake) as url:
        client = BinanceRest.create(rest_url=url, api_key=API_KEY, api_secret=API_SECRET,
                                    connectivity=connectivity, fail_max=5, reset_timeout=0.5)
        client.call_timeout = 2
        try:
            yield client
        finally:
            await client.close()
