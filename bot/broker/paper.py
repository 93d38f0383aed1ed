"""Paper trading: every market order fills instantly at the latest price, slippage and fees charged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from bot.broker.base import Fill
from bot.errors import OrderError
from bot.money import MONEY_STEP
from bot_api.events import Side


def fee_for(turnover: Decimal, fee_rate: Decimal) -> Decimal:
    """The fee on `turnover` (qty * price), rounded half-up to 1e-8."""
    return (turnover * fee_rate).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


class PaperBroker:
    """Simulated broker: fills at the given price moved against the order by `slippage_bps`,
    fee in the quote asset."""

    name = "paper"

    def __init__(self, fee_rate: Decimal, quote_asset: str, slippage_bps: Decimal = Decimal(0)) -> None:
        self.fee_rate = fee_rate
        self.quote_asset = quote_asset
        self.slippage_bps = slippage_bps

    def tradable(self, symbol: str, qty: Decimal, price: Decimal) -> Decimal:
        """All of it: paper orders have no lot size."""
        return qty

    def fill_price(self, side: Side, price: Decimal) -> Decimal:
        """The price a market order gets: a buy pays more, a sell gets less."""
        move = price * self.slippage_bps / 10_000
        moved = price + move if side is Side.BUY else price - move
        return moved.quantize(MONEY_STEP, rounding=ROUND_HALF_UP)

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        """Fill `qty` of `symbol` at `price` (one fill); raise OrderError for a bad qty or price."""
        if not (qty.is_finite() and qty > 0):
            raise OrderError(f"order quantity must be positive, got {qty}")
        if not (price.is_finite() and price > 0):
            raise OrderError(f"order price must be positive, got {price}")
        price = self.fill_price(side, price) if self.slippage_bps else price
        quote_qty = (qty * price).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
        order_ref = uuid.uuid4().hex
        return [Fill(
            trade_id=uuid.uuid4().hex,
            order_id=f"paper-{order_ref}",
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            quote_qty=quote_qty,
            fee=fee_for(qty * price, self.fee_rate),
            fee_asset=self.quote_asset,
            executed_at=datetime.now(UTC),
        )]
