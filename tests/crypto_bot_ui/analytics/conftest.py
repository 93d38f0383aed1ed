"""Fixtures of the analytics' tests: trades made to order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from itertools import count

import pytest

from crypto_bot_ui.trades.models import Trade
from crypto_bot_ui.trades.services import date_openings

MakeTrade = Callable[..., Trade]
Store = Callable[[list[Trade]], list[Trade]]


@pytest.fixture
def store() -> Store:
    """Save trades as the recorder would: each dated to the opening of its position, then in bulk."""

    def save(trades: list[Trade]) -> list[Trade]:
        stored = Trade.objects.bulk_create(trades)
        date_openings(trades=stored)
        return stored

    return save


@pytest.fixture
def make_trade() -> MakeTrade:
    """A stored-to-be trade (not saved: bulk_create them) with sensible defaults, each its own id."""
    ids = count(1)

    def make(*, at: datetime, bot: str = "alpha", symbol: str = "BTCUSDT", side: str = "sell",
             pnl: Decimal | str = "0", fee: Decimal | str = "0", strategy: str = "sma_cross",
             note: str = "") -> Trade:
        return Trade(bot_id=bot, trade_id=f"t{next(ids)}", symbol=symbol, side=side, qty=Decimal("0.01"),
                     price=Decimal(50000), quote_qty=Decimal(500), fee=Decimal(fee), fee_asset="USDT",
                     fee_in_quote=Decimal(fee), realized_pnl=Decimal(pnl), executed_at=at, strategy=strategy,
                     note=note)

    return make
