"""Each stored trade knows when its position was opened (Trade.opened_at), whether its fills arrive in
one batch or one by one, and a trade's strategy and fee value are stored as the contract gives them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot_api.events import Side, TradeData, TradeExecutedEvent
from crypto_bot_ui.trades.models import Trade
from crypto_bot_ui.trades.services import record_trades

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def fill(n: int, side: Side, minutes: int, *, symbol: str = "BTCUSDT", fee_asset: str = "USDT") -> TradeExecutedEvent:
    return TradeExecutedEvent(seq=n, bot="alpha", data=TradeData(
        trade_id=f"t{n}", symbol=symbol, side=side, qty=Decimal("0.01"), price=Decimal(50000), quote_qty=Decimal(500),
        fee=Decimal("0.00001") if fee_asset == "BTC" else Decimal("0.5"), fee_asset=fee_asset,
        realized_pnl=Decimal(0), executed_at=T0 + timedelta(minutes=minutes), strategy="sma_cross"))


# sell before any buy | buy, buy, sell, sell (a partial exit) | buy, sell | and another symbol in between
HISTORY = [fill(1, Side.SELL, 0), fill(2, Side.BUY, 10), fill(3, Side.BUY, 20), fill(4, Side.SELL, 30),
           fill(5, Side.SELL, 40), fill(6, Side.BUY, 50, symbol="ETHUSDT"), fill(7, Side.BUY, 60),
           fill(8, Side.SELL, 70)]
OPENED = {"t1": None, "t2": 10, "t3": 10, "t4": 10, "t5": 10, "t6": 50, "t7": 60, "t8": 60}


def openings() -> dict[str, int | None]:
    return {t.trade_id: None if t.opened_at is None else int((t.opened_at - T0).total_seconds() // 60)
            for t in Trade.objects.all()}


@pytest.mark.parametrize("batch", [len(HISTORY), 1, 3], ids=["at-once", "one-by-one", "in-threes"])
def test_a_position_opens_at_the_first_buy_after_a_sell(batch: int) -> None:
    for start in range(0, len(HISTORY), batch):
        record_trades(events=HISTORY[start:start + batch])
    assert openings() == OPENED
    record_trades(events=HISTORY)  # replayed: nothing changes
    assert openings() == OPENED


@pytest.mark.parametrize("order", [[7, 6, 5, 4, 3, 2, 1, 0], [4, 0, 7, 2, 5, 1, 6, 3]], ids=["backwards", "shuffled"])
def test_fills_that_arrive_late_put_the_later_ones_right(order: list[int]) -> None:
    """A recorder that takes over another's pending entries stores them after later ones."""
    for i in order:
        record_trades(events=[HISTORY[i]])



def test_strategy_and_fee_value_are_stored() -> None:
    record_trades(events=[fill(1, Side.BUY, 0), fill(2, Side.SELL, 5, fee_asset="BTC")])
    stored = {t.trade_id: (t.strategy, t.fee_in_quote) for t in Trade.objects.all()}
    assert stored == {"t1": ("sma_cross", Decimal("0.5")), "t2": ("sma_cross", Decimal("0.5"))}  # 0.00001 BTC x 50,000
