"""The strategy interface: a price in, maybe a signal out."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot_api.events import Side


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
