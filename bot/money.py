"""The bot's units of account: the precision its books keep and the size of an order's lot."""

from __future__ import annotations

from decimal import Decimal

MONEY_STEP = Decimal("0.00000001")
"""Amounts in the books (cash, cost, fees, fills' quote value) are kept to 8 decimals, as Binance does."""
QTY_STEP = Decimal("0.00000001")
"""Quantities held are kept to 8 decimals."""
ORDER_QTY_STEP = Decimal("0.000001")
"""The smallest lot an order is sized in (the coarsest step of the symbols traded)."""
ZERO = Decimal(0)
