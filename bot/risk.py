"""The risk guard: caps each position's size and halts trading when the day's loss hits a limit.

The day is the UTC calendar day and its P&L is the change in equity since it opened: realised and
unrealised alike, but a position carried over from yesterday counts only what it lost today. The
day opens at the first price after midnight. After a restart mid-day the engine opens it at the
equity before today's first trade, with carried positions at cost (their marks at midnight are
not kept), which can count part of an earlier day's unrealised loss as today's.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from bot.money import ZERO
from bot_api.events import RiskData
from bot_api.models import utcnow


def _shown(amount: Decimal) -> str:
    """An amount for a sentence: to the cent, no exponent (the exact figure is in the status)."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


class RiskGuard:
    """Position cap (MAX_POSITION_QUOTE) and daily loss limit (MAX_DAILY_LOSS); both optional."""

    def __init__(self, *, max_position_quote: Decimal | None, max_daily_loss: Decimal | None) -> None:
        self.max_position_quote = max_position_quote
        self.max_daily_loss = max_daily_loss
        self._day: date = utcnow().date()
        self._day_open: Decimal | None = None

    def open_day(self, equity: Decimal, day: date | None = None) -> None:
        """Measure `day`'s P&L (today by default) from `equity`."""
        self._day, self._day_open = day or utcnow().date(), equity

    def daily_pnl(self, equity: Decimal) -> Decimal:
        """Equity now minus equity when the day opened (opening it now if it has not)."""
        today = utcnow().date()
        if self._day_open is None or today != self._day:
            self.open_day(equity, today)
            return ZERO
        return equity - self._day_open

    def breach(self, equity: Decimal) -> str | None:
        """Why trading must stop now, or None."""
        if self.max_daily_loss is None:
            return None
        pnl = self.daily_pnl(equity)
        if pnl <= -self.max_daily_loss:
            return (f"daily loss limit reached: lost {_shown(-pnl)} today, limit {_shown(self.max_daily_loss)}"
                    " (MAX_DAILY_LOSS)")
        return None

    def cap_buy(self, qty: Decimal, price: Decimal, held: Decimal, step: Decimal) -> Decimal:
        """`qty`, reduced (to `step`) so the position stays within MAX_POSITION_QUOTE at `price`."""
        if self.max_position_quote is None:
            return qty
        room = self.max_position_quote - held * price
        if room <= 0:
            return ZERO
        return min(qty, (room / price).quantize(step, rounding=ROUND_DOWN))

    def data(self, equity: Decimal) -> RiskData:
        """The guard's view as it travels in `status`."""
        return RiskData(
            daily_pnl=self.daily_pnl(equity),
            max_daily_loss=self.max_daily_loss,
            max_position_quote=self.max_position_quote,
        )
