"""The broker interface: place a market order, get a fill back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot_api.events import Side

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fill:
    """One executed order: quantities in the base asset, money in the quote asset."""

    trade_id: str
    order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_asset: str
    executed_at: datetime
    fee_quote: Decimal | None = None
    """The fee's value in the quote asset; needed only when `fee_asset` is a third asset (BNB)."""


class Broker(Protocol):
    """Executes orders; `name` appears in the status snapshot as `mode` (paper, live...)."""

    name: str

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        """Execute `qty` of `symbol` at market; `price` is the latest known price.

        One order gives one fill per fee asset: nearly always one, two when an exchange took
        part of the fee in one asset and the rest in another.
        """
        ...

    def tradable(self, symbol: str, qty: Decimal, price: Decimal) -> Decimal:
        """How much of a holding of `qty` one order at `price` can sell (0 for unsellable dust)."""
        ...
