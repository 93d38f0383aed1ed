"""The strategy interface (a price in, maybe a signal out) and what a strategy plug-in declares."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from bot_api.events import Side
from bot_api.settings import EnvSettings


@dataclass(frozen=True)
class Signal:
    """A wish to buy or sell, with the human-readable reason shown next to the trade."""

    side: Side
    reason: str


class Strategy(Protocol):
    """Decides per price update; must be pure logic (no I/O) so it is cheap and testable."""

    name: str

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        """Return a signal for `symbol` at `price`, given the open position, or None."""
        ...

    def started(self, fresh: Collection[str]) -> None:
        """The bot starts trading after a warm-up; `fresh`: the symbols whose history is current."""
        ...


class StrategyParams(EnvSettings):
    """Base of a strategy's parameter model: fields aliased to their env names (SMA_FAST...), each
    with a docstring; cross-field rules raise SettingError naming the setting to change."""

    def summary(self) -> str:
        """The parameters as `NAME=value` words, for the start-up log line."""
        fields = type(self).model_fields
        return " ".join(f"{field.alias or name}={getattr(self, name)}" for name, field in fields.items())


P = TypeVar("P", bound=StrategyParams)


@dataclass(frozen=True)
class StrategyPlugin(Generic[P]):
    """What a strategy module exports as PLUGIN: the name STRATEGY selects, its parameters, its factory."""

    name: str
    params: type[P]
    build: Callable[[P], Strategy]
    """A fresh strategy from validated parameters."""
