"""SmaCrossStrategy: signals exactly at crossovers, long only, nothing before the window fills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.errors import ConfigError
from bot.strategy import build_strategy, registered
from bot.strategy.base import Signal
from bot.strategy.sma_cross import SmaCrossParams, SmaCrossStrategy
from bot_api.events import Side
from tests.bot.fakes import settings

FLAT = Decimal(0)
LONG = Decimal(1)


def feed(strategy: SmaCrossStrategy, prices: list[int], symbol: str = "BTCUSDT") -> list[Signal | None]:
    """Feed prices, tracking the position the way the engine would (buy -> long, sell -> flat)."""
    position = FLAT
    out: list[Signal | None] = []
    for price in prices:
        signal = strategy.on_price(symbol, Decimal(price), position)
        if signal is not None:
            position = LONG if signal.side is Side.BUY else FLAT
        out.append(signal)
    return out


def test_buy_on_cross_above_then_sell_on_cross_below() -> None:
    strategy = SmaCrossStrategy(fast=2, slow=4)
    prices = [10, 10, 10, 10, 10, 12, 13, 13, 11, 8, 8]
    signals = feed(strategy, prices)
    fired = {i: s for i, s in enumerate(signals) if s is not None}
    # Index 5: SMA2 = 11 > SMA4 = 10.5 after being equal.
    # Index 7: SMA2 = 13 > SMA4 = 12 (still above); index 8: SMA2 = 12 < SMA4 = 12.25.
    assert list(fired) == [5, 8]
    assert fired[5] == Signal(Side.BUY, "SMA2 crossed above SMA4")
    assert fired[8] == Signal(Side.SELL, "SMA2 crossed below SMA4")


def test_no_signal_before_the_slow_window_fills() -> None:
    strategy = SmaCrossStrategy(fast=2, slow=5)
    # Falling then sharply rising: a cross would show from index 3 with a shorter window.
    signals = feed(strategy, [10, 9, 8, 20, 30, 40])
    assert signals[:5] == [None] * 5  # window fills at index 4 and only records the baseline
    assert signals[5] is None  # fast was already above slow: no crossing
    strategy = SmaCrossStrategy(fast=2, slow=5)
    signals = feed(strategy, [10, 10, 10, 10, 10, 11])
    assert signals[:5] == [None] * 5
    assert signals[5] == Signal(Side.BUY, "SMA2 crossed above SMA5")


def test_long_only_no_buy_while_long_no_sell_while_flat() -> None:
    strategy = SmaCrossStrategy(fast=1, slow=2)
    assert strategy.on_price("X", Decimal(10), FLAT) is None
    assert strategy.on_price("X", Decimal(10), FLAT) is None  # baseline: equal
    assert strategy.on_price("X", Decimal(9), FLAT) is None  # crossed below while flat
    assert strategy.on_price("X", Decimal(12), LONG) is None  # crossed above while long
    assert strategy.on_price("X", Decimal(8), LONG) == Signal(Side.SELL, "SMA1 crossed below SMA2")


def test_symbols_are_tracked_independently() -> None:
    strategy = SmaCrossStrategy(fast=1, slow=2)
    for price in (10, 10):
        strategy.on_price("AAUSDT", Decimal(price), FLAT)
    # BBUSDT's first prices must not complete AAUSDT's window or vice versa.
    assert strategy.on_price("BBUSDT", Decimal(50), FLAT) is None
    assert strategy.on_price("BBUSDT", Decimal(50), FLAT) is None
    assert strategy.on_price("AAUSDT", Decimal(11), FLAT) == Signal(Side.BUY, "SMA1 crossed above SMA2")
    assert strategy.on_price("BBUSDT", Decimal(49), FLAT) is None


@pytest.mark.parametrize(("fast", "slow"), [(0, 5), (5, 5), (6, 5)])
def test_invalid_windows_are_refused(fast: int, slow: int) -> None:
    with pytest.raises(ValueError, match="fast"):
        SmaCrossStrategy(fast, slow)


def test_registry_builds_from_settings() -> None:
    assert registered()["sma_cross"].params is SmaCrossParams
    s = settings(SMA_FAST="3", SMA_SLOW="9")
    assert s.strategy_params == SmaCrossParams.read({"SMA_FAST": "3", "SMA_SLOW": "9"})
    strategy = build_strategy(s)
    assert isinstance(strategy, SmaCrossStrategy)
    assert (strategy.fast, strategy.slow, strategy.name) == (3, 9, "sma_cross")
    assert "strategy=sma_cross/ticks (SMA_FAST=3 SMA_SLOW=9)" in s.summary()


def test_defaults_and_empty_values() -> None:
    assert (SmaCrossParams.read({}).fast, SmaCrossParams.read({"SMA_FAST": "", "SMA_SLOW": ""}).slow) == (2, 4)


@pytest.mark.parametrize(("env", "message"), [
    ({"SMA_FAST": "0"}, "SMA_FAST: must be a whole number from 1 to 499, got '0'"),
    ({"SMA_FAST": "x"}, "SMA_FAST: must be a whole number from 1 to 499, got 'x'"),
    ({"SMA_SLOW": "501"}, "SMA_SLOW: must be a whole number from 2 to 500, got '501'"),
    ({"SMA_FAST": "20"}, "SMA_FAST: must be smaller than SMA_SLOW (4), got 20"),
    ({"SMA_FAST": "5", "SMA_SLOW": "5"}, "SMA_FAST: must be smaller than SMA_SLOW (5), got 5"),
])
def test_bad_windows_stop_the_bot_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**env)
    assert caught.value.message == message
