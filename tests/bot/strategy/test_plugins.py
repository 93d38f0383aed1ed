"""A strategy from outside the project: one module in a temporary package, selected by STRATEGY.

Nothing of the project is touched: the module is written under tmp_path, put on sys.path, and
`STRATEGY=<package>.tiny` selects it; the configuration check validates its parameters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import check
from bot.errors import ConfigError
from bot.strategy import build_strategy, registered, strategy_plugin
from bot_api.events import Side
from tests.bot.fakes import ListSink, engine, settings, tick

ROOT = Path(__file__).resolve().parents[3]
TINY = '''
"""Buys at or below TINY_LOW, sells at or above TINY_HIGH."""

from collections.abc import Collection
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from bot.strategy.base import Signal, StrategyParams, StrategyPlugin
from bot_api.events import Side
from bot_api.settings import SettingError


class TinyParams(StrategyParams):
    """Two price levels."""

    low: Decimal = Field(Decimal(90), gt=0, alias="TINY_LOW")
    """`tiny`: buy at or below this price"""
    high: Decimal = Field(Decimal(110), gt=0, alias="TINY_HIGH")
    """`tiny`: sell at or above this price"""

    @model_validator(mode="after")
    def _low_below_high(self) -> Self:
        if self.low >= self.high:
            raise SettingError("TINY_LOW", f"must be below TINY_HIGH ({self.high}), got {self.low}")
        return self


class TinyStrategy:
    """Levels, not averages."""

    name = "tiny"

    def __init__(self, params: TinyParams) -> None:
        self.params = params

    def started(self, fresh: Collection[str]) -> None:
        """Nothing to adjust."""

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        """BUY when flat and cheap, SELL when long and dear."""
        if position_qty == 0 and price <= self.params.low:
            return Signal(Side.BUY, f"{price} <= {self.params.low}")
        if position_qty > 0 and price >= self.params.high:
            return Signal(Side.SELL, f"{price} >= {self.params.high}")
        return None


PLUGIN = StrategyPlugin("tiny", TinyParams, TinyStrategy)
'''


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh package on sys.path holding `tiny` (the strategy) and `empty` (a module without PLUGIN)."""
    package = f"plugins_{uuid.uuid4().hex[:8]}"  # a new name per test: sys.modules keeps imports
    folder = tmp_path / "site" / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "tiny.py").write_text(textwrap.dedent(TINY))
    (folder / "empty.py").write_text('"""No PLUGIN here."""\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    for name in [name for name in sys.modules if name.startswith(package)]:
        del sys.modules[name]


def test_the_check_validates_a_strategy_outside_the_project(
    plugin_package: str, capsys: pytest.CaptureFixture[str]
) -> None:
    selected = f"{plugin_package}.tiny"
    assert check({"STRATEGY": selected, "TINY_LOW": "95"}) == 0
    assert f"strategy={selected}/60s (TINY_LOW=95 TINY_HIGH=110)" in capsys.readouterr().out
    assert "tiny" not in registered()  # selected by its path, not registered in the project
    assert check({"STRATEGY": selected, "TINY_LOW": "120"}) == 2
    assert capsys.readouterr().err == "configuration error: TINY_LOW: must be below TINY_HIGH (110), got 120\n"
    assert check({"STRATEGY": selected, "TINY_HIGH": "abc"}) == 2
    assert capsys.readouterr().err == "configuration error: TINY_HIGH: must be a number greater than 0, got 'abc'\n"


async def test_the_engine_runs_the_plugin(plugin_package: str) -> None:
    s = settings(STRATEGY=f"{plugin_package}.tiny", TINY_LOW="100", TINY_HIGH="102")
    assert strategy_plugin(s.strategy).name == "tiny"
    sink = ListSink()
    eng = engine(build_strategy(s), sink)
    for price in ("101", "100", "101", "102"):
        await eng.on_tick(tick("BTCUSDT", price))
    sides = [e.data.side for e in sink.of_type("trade_executed")]  # type: ignore[union-attr]
    assert sides == [Side.BUY, Side.SELL]


def test_a_module_that_is_not_a_plugin_is_refused(plugin_package: str) -> None:
    for selected, problem in ((f"{plugin_package}.empty", f"module {plugin_package}.empty has no PLUGIN"),
                              (f"{plugin_package}.missing", "cannot import the strategy module")):
        with pytest.raises(ConfigError) as caught:
            settings(STRATEGY=selected)
        assert caught.value.setting == "STRATEGY" and problem in caught.value.message
        assert caught.value.message.endswith(f", got {selected!r}")


def test_python_m_bot_check_with_the_plugin(plugin_package: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{ROOT}", "VAR_DIR": str(tmp_path / "var"),
           "STRATEGY": f"{plugin_package}.tiny", "TINY_LOW": "", "TINY_HIGH": "120"}
    ok = subprocess.run([sys.executable, "-m", "bot", "--check"], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "(TINY_LOW=90 TINY_HIGH=120)" in ok.stdout  # empty: the default
    bad = subprocess.run([sys.executable, "-m", "bot", "--check"], cwd=ROOT, env={**env, "TINY_HIGH": "80"},
                         capture_output=True, text=True, timeout=60)
    assert (bad.returncode, bad.stderr) == (2, "configuration error: TINY_LOW: must be below TINY_HIGH (80), got 90\n")
