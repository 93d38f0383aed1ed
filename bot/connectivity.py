"""The exchange's health as the dashboard sees it: price source and circuit breaker state."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Literal

from bot_api.events import ExchangeData

logger = logging.getLogger(__name__)

Source = Literal["sim", "stream", "rest", "none"]
BreakerState = Literal["closed", "open", "half-open"]


class Connectivity:
    """Shared by market data, broker and engine; `changed` is set on every change (for a push)."""

    def __init__(self, source: Source = "sim", breaker: BreakerState | None = None) -> None:
        self.source: Source = source
        self.breaker: BreakerState | None = breaker
        self.detail: str | None = None
        self.balances: dict[str, Decimal] = {}
        self.changed = asyncio.Event()

    def set_source(self, source: Source, detail: str | None = None) -> None:
        """Record where prices come from now."""
        if (source, detail) != (self.source, self.detail):
            logger.warning("market data source: %s%s", source, f" ({detail})" if detail else "")
            self.source, self.detail = source, detail
            self.changed.set()

    def set_breaker(self, state: BreakerState) -> None:
        """Record the circuit breaker's state."""
        if state != self.breaker:
            logger.warning("exchange circuit breaker: %s", state)
            self.breaker = state
            self.changed.set()

    def set_balances(self, balances: dict[str, Decimal], *, complete: bool = False) -> None:
        """Record free balances: `complete` (the account endpoint) replaces them all, otherwise
        (a stream event lists only the assets that changed) they are merged in."""
        merged = dict(balances) if complete else {**self.balances, **balances}
        merged = {asset: free for asset, free in merged.items() if free}
        if merged != self.balances:
            self.balances = merged
            self.changed.set()

    @property
    def offline(self) -> bool:
        """Whether the exchange cannot be used right now."""
        return self.breaker == "open" or self.source == "none"

    def data(self) -> ExchangeData:
        """The contract's view."""
        return ExchangeData(source=self.source, breaker=self.breaker, offline=self.offline, detail=self.detail,
                            balances=dict(self.balances))
