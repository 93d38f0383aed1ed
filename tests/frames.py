"""Reading the dashboard socket one envelope at a time, whether frames carry one or an array; and
small envelopes to publish."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot_api.events import BotState, PnlData, PriceData, PriceUpdateEvent, StatusData, StatusEvent

STARTED = datetime(2026, 1, 1, tzinfo=UTC)
"""When the bot of `status_at` started."""


def split_frame(text: str | bytes) -> list[Any]:
    """The envelopes (decoded JSON) a frame carries, in order, as the page splits them."""
    decoded = json.loads(text)
    return decoded if isinstance(decoded, list) else [decoded]


def price(seq: int) -> PriceUpdateEvent:
    """A BTCUSDT price event at `seq` (price 100 + seq)."""
    return PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=Decimal(100 + seq)))


def status_at(seq: int) -> StatusEvent:
    """A minimal running status snapshot at `seq`."""
    zero = Decimal(0)
    return StatusEvent(seq=seq, data=StatusData(
        state=BotState.RUNNING, mode="paper", market_data="sim", strategy="t", quote_asset="USDT",
        symbols=["BTCUSDT"], prices={"BTCUSDT": Decimal(100 + seq)}, positions=[],
        pnl=PnlData(realized=zero, unrealized=zero, total=zero), cash=Decimal(1), equity=Decimal(1),
        trade_count=0, recent_trades=[], started_at=STARTED,
    ))



@dataclass
class Envelopes:
    """Envelopes from a socket in order: array frames (batches) are split, as the page does."""

    recv: Callable[[], Awaitable[str | bytes]]
    pending: deque[dict[str, Any]] = field(default_factory=deque)

    async def next(self) -> dict[str, Any]:
        """The next envelope (reads a frame when none is pending)."""
        while not self.pending:
            self.pending.extend(split_frame(await self.recv()))
        return self.pending.popleft()
