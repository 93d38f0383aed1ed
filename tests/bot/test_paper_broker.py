"""PaperBroker: fills at the given price with a fee in the quote asset."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.broker.paper import PaperBroker, fee_for
from bot.errors import OrderError
from bot_api.events import Side


async def test_fill_at_market_price_with_fee() -> None:
    broker = PaperBroker(Decimal("0.001"), "USDT")
    before = datetime.now(UTC)
    [fill] = await broker.market_order("BTCUSDT", Side.BUY, Decimal("0.015384"), Decimal("65000.00"))
    assert fill.symbol == "BTCUSDT"
    assert fill.side is Side.BUY
    assert fill.qty == Decimal("0.015384")
    assert fill.price == Decimal("65000.00")
    assert fill.quote_qty == Decimal("999.96")
    assert fill.fee == Decimal("0.99996")
    assert fill.fee.as_tuple().exponent == -8
    assert fill.fee_asset == "USDT"
    assert fill.order_id.startswith("paper-")
    assert before <= fill.executed_at <= datetime.now(UTC)
    assert broker.name == "paper"


async def test_fee_is_rounded_to_1e8() -> None:
    broker = PaperBroker(Decimal("0.00075"), "USDT")
    [fill] = await broker.market_order("ETHUSDT", Side.SELL, Decimal("0.000001"), Decimal("3500.01"))
    # 0.00350001 * 0.00075 = 0.0000026250075 -> 0.00000263 (half up)
    assert fill.fee == Decimal("0.00000263")
    assert fee_for(Decimal("1"), Decimal("0.000000005")) == Decimal("0.00000001")


async def test_ids_are_unique() -> None:
    broker = PaperBroker(Decimal("0.001"), "USDT")
    fills = [f for _ in range(200) for f in await broker.market_order("BTCUSDT", Side.BUY, Decimal(1), Decimal(1))]
    assert len({f.trade_id for f in fills}) == 200
    assert len({f.order_id for f in fills}) == 200
    assert all(1 <= len(f.trade_id) <= 64 for f in fills)


@pytest.mark.parametrize(("qty", "price"), [("0", "1"), ("-1", "1"), ("1", "0"), ("1", "-2"), ("NaN", "1")])
async def test_refuses_non_positive_qty_or_price(qty: str, price: str) -> None:
    broker = PaperBroker(Decimal("0.001"), "USDT")
    with pytest.raises(OrderError):
        await broker.market_order("BTCUSDT", Side.BUY, Decimal(qty), Decimal(price))
