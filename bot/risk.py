"""The risk guard: caps each position's size and halts trading when the day's loss hits a limit.

The day is the UTC calendar day. Its P&L is what trades executed today realised plus the open
positions' unrealised P&L now, so a restart mid-day (which replays today's trades from the
ledger) sees the same figure.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from bot_api.events import RiskData
from bot_api.models import utcnow

logger = logging.getLogger(__name__)

ZERO = Decimal(0)


class RiskGuard:
    """Position cap (MAX_POSITION_QUOTE) and daily loss limit (MAX_DAILY_LOSS); both optional."""

    def __init__(self, *, max_position_quote: Decimal | None, max_daily_loss: Decimal | None) -> None:
        self.max_position_quote = max_position_quote
        self.max_daily_loss = max_daily_loss
        self._day: date = utcnow().date()
        self._realized_today = ZERO

    def record(self, realized: Decimal, executed_at: datetime) -> None:
        """Count a fill's realised P&L if it happened today (UTC)."""
        self._roll()
        if executed_at.date() == self._day:
            self._realized_today += realized

    def _roll(self) -> None:
        today = utcnow().date()
        if today != self._day:
            self._day, self._realized_today = today, ZERO

    def daily_pnl(self, unrealized: Decimal) -> Decimal:
        """Today's realised P&L plus the open positions' unrealised P&L."""
        self._roll()
        return self._realized_today + unrealized

    def breach(self, unrealized: Decimal) -> str | None:
        """Why trading must stop now, or None."""
        if self.max_daily_loss is None:
            return None
        pnl = self.daily_pnl(unrealized)
        if pnl <= -self.max_daily_loss:
            return f"risk guard: today's loss {-pnl:f} reached MAX_DAILY_LOSS {self.max_daily_loss:f}"
        return None

    def cap_buy(self, qty: Decimal, price: Decimal, held: Decimal, step: Decimal) -> Decimal:
        """`qty`, reduced (to `step`) so the position stays within MAX_POSITION_QUOTE at `price`."""
        if self.max_position_quote is None:
            return qty
        room = self.max_position_quote - held * price
        if room <= 0:
            return ZERO
        return min(qty, (room / price).quantize(step, rounding=ROUND_DOWN))

    def data(self, unrealized: Decimal) -> RiskData:
        """The guard's view as it travels in `status`."""
        return RiskData(
            daily_pnl=self.daily_pnl(unrealized),
            max_daily_loss=self.max_daily_loss,
            max_position_quote=self.max_position_quote,
        )
