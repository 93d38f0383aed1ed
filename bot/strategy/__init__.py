"""Trading strategies: the registry STRATEGY is looked up in, and building the selected strategy.

A strategy is ONE module that exports `PLUGIN = StrategyPlugin(name, Params, build)`: its name, its
parameter model (env names, defaults, bounds, cross-field rules) and its factory; the decision logic
lives beside them. Registering a strategy of this package is one line in REGISTERED. STRATEGY may
also name a module outside the project (`package.module`, importable by the bot) exporting a PLUGIN.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any, Protocol

from bot.strategy.base import Signal, Strategy, StrategyParams, StrategyPlugin

REGISTERED = (
    "bot.strategy.sma_cross",
    "bot.strategy.mean_reversion",
)
"""Modules of the strategies selectable by name, in the order the settings table lists them."""


@cache
def registered() -> dict[str, StrategyPlugin[Any]]:
    """The registered plug-ins by name (imported once, on first use)."""
    plugins = [_load(path) for path in REGISTERED]
    return {plugin.name: plugin for plugin in plugins}


def strategy_plugin(selected: str) -> StrategyPlugin[Any]:
    """The plug-in STRATEGY selects: a registered name or a plug-in module's path; ValueError if none."""
    plugins = registered()
    if selected in plugins:
        return plugins[selected]
    if "." not in selected:
        raise ValueError(f"must be one of: {', '.join(plugins)} (or package.module of a strategy plug-in)")
    return _load(selected)


def _load(path: str) -> StrategyPlugin[Any]:
    """Import `path` and return its PLUGIN."""
    try:
        module = importlib.import_module(path)
    except Exception as exc:  # noqa: BLE001 - whatever a plug-in's import does, one line says so
        raise ValueError(f"cannot import the strategy module ({type(exc).__name__}: {exc})") from None
    plugin = getattr(module, "PLUGIN", None)
    if not isinstance(plugin, StrategyPlugin):
        raise ValueError(f"module {path} has no PLUGIN = StrategyPlugin(...)")
    return plugin


class StrategyChoice(Protocol):
    """What building a strategy needs from the settings (BotSettings has it)."""

    @property
    def strategy(self) -> str:
        """STRATEGY: the selected plug-in."""
        ...

    @property
    def strategy_params(self) -> StrategyParams:
        """Its validated parameters."""
        ...


def build_strategy(settings: StrategyChoice) -> Strategy:
    """Return a new instance of the strategy `settings` select, with its parameters."""
    return strategy_plugin(settings.strategy).build(settings.strategy_params)


__all__ = ["REGISTERED", "Signal", "Strategy", "StrategyParams", "StrategyPlugin", "build_strategy",
           "registered", "strategy_plugin"]
