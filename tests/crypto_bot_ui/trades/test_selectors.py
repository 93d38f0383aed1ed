"""Reads of the records that the pages build on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crypto_bot_ui.trades.models import EquitySnapshot
from crypto_bot_ui.trades.selectors import equity_sparks

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def point(bot_id: str, n: int) -> EquitySnapshot:
    money = Decimal(10000 + n)
    return EquitySnapshot(bot_id=bot_id, seq=n, taken_at=T0 + timedelta(seconds=10 * n), equity=money, cash=money,
                          realized_pnl=Decimal(0), unrealized_pnl=Decimal(0), total_pnl=Decimal(0))


def test_each_bots_sparkline_is_its_newest_points_oldest_first() -> None:
    EquitySnapshot.objects.bulk_create([point("a", n) for n in range(1, 8)] + [point("b", n) for n in (1, 2)])
    assert equity_sparks(["a", "b", "none"], points=3) == {
        "a": ["10005", "10006", "10007"], "b": ["10001", "10002"], "none": []}
