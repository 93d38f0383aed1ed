"""The broker interface: place a market order, get a fill back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot_api.events import Side, TradeData


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

    @classmethod
    def of_trade(cls, trade: TradeData) -> Fill:
        """The fill a ledger trade recorded (to book it again after a restart)."""
        return cls(
            trade_id=trade.trade_id, order_id=trade.order_id or "", symbol=trade.symbol, side=trade.side,
            qty=trade.qty, price=trade.price, quote_qty=trade.quote_qty, fee=trade.fee, fee_asset=trade.fee_asset,
            executed_at=trade.executed_at, fee_quote=trade.fee_quote,
        )

    def trade(self, *, realized: Decimal, reason: str, strategy: str = "") -> TradeData:
        """This fill as the contract's trade, with what it realised, why and by which strategy."""
        return TradeData(
            trade_id=self.trade_id, order_id=self.order_id, symbol=self.symbol, side=self.side, qty=self.qty,
            price=self.price, quote_qty=self.quote_qty, fee=self.fee, fee_asset=self.fee_asset,
            fee_quote=self.fee_quote, realized_pnl=realized, executed_at=self.executed_at, reason=reason,
            strategy=strategy,
        )


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
