"""MeanReversionStrategy: buys a dip of MR_ENTRY_Z deviations, sells at MR_EXIT_Z; its parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.errors import ConfigError
from bot.strategy import build_strategy
from bot.strategy.mean_reversion import MeanReversionParams, MeanReversionStrategy
from bot_api.events import Side
from tests.bot.fakes import settings


def test_mean_reversion_buys_a_dip_and_sells_the_return_to_the_mean() -> None:
    strategy = MeanReversionStrategy(window=5, entry_z=Decimal("1.5"), exit_z=Decimal(0))
    prices = ["100", "101", "100", "101", "100"]
    assert [strategy.on_price("BTCUSDT", Decimal(p), Decimal(0)) for p in prices] == [None] * 5
    buy = strategy.on_price("BTCUSDT", Decimal(95), Decimal(0))  # far below the mean
    assert buy is not None and buy.side is Side.BUY and "z-score" in buy.reason
    assert strategy.on_price("BTCUSDT", Decimal(96), Decimal(1)) is None  # still below: hold
    sell = strategy.on_price("BTCUSDT", Decimal(101), Decimal(1))
    assert sell is not None and sell.side is Side.SELL
    # No sell while flat, no buy while long; a flat window gives nothing.
    flat = MeanReversionStrategy(window=3, entry_z=Decimal(1), exit_z=Decimal(0))
    assert [flat.on_price("ETHUSDT", Decimal(5), Decimal(0)) for _ in range(4)] == [None] * 4


def test_built_from_its_settings() -> None:
    s = settings(STRATEGY="mean_reversion", MR_WINDOW="7", MR_ENTRY_Z="1.5", MR_EXIT_Z="-0.5")
    assert s.strategy_params == MeanReversionParams.read({"MR_WINDOW": "7", "MR_ENTRY_Z": "1.5", "MR_EXIT_Z": "-0.5"})
    strategy = build_strategy(s)
    assert isinstance(strategy, MeanReversionStrategy)
    assert (strategy.window, strategy.entry_z, strategy.exit_z) == (7, Decimal("1.5"), Decimal("-0.5"))
    defaults = MeanReversionParams.read({})
    assert (defaults.window, defaults.entry_z, defaults.exit_z) == (20, Decimal(2), Decimal(0))


@pytest.mark.parametrize(("env", "message"), [
    ({"MR_WINDOW": "1"}, "MR_WINDOW: must be a whole number from 2 to 500, got '1'"),
    ({"MR_ENTRY_Z": "0"}, "MR_ENTRY_Z: must be a number from 0.1 to 10, got '0'"),
    ({"MR_EXIT_Z": "nan"}, "MR_EXIT_Z: must be a number from -10 to 10, got 'nan'"),
    ({"MR_EXIT_Z": "-3"}, "MR_EXIT_Z: must be above -MR_ENTRY_Z (-2), got -3"),
    ({"MR_ENTRY_Z": "1", "MR_EXIT_Z": "-1"}, "MR_EXIT_Z: must be above -MR_ENTRY_Z (-1), got -1"),
])
def test_bad_parameters_stop_the_bot_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(STRATEGY="mean_reversion", **env)
    assert caught.value.message == message


def test_only_the_selected_strategys_parameters_are_read() -> None:
    # MR_* configure mean_reversion alone: with sma_cross selected they are not read, so not refused.
    assert settings(MR_WINDOW="1").strategy == "sma_cross"
