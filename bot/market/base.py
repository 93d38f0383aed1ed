"""The market data interface: an async stream of price ticks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Tick:
    """The latest price of one symbol at one moment (ts is UTC)."""

    symbol: str
    price: Decimal
    ts: datetime


class MarketData(Protocol):
    """A source of ticks; `name` appears in the status snapshot as `market_data`."""

    name: str

    def ticks(self) -> AsyncIterator[Tick]:
        """Yield ticks until cancelled (implemented as an async generator)."""
        ...
