"""How much one buy or sell signal trades, and, when nothing can be traded, why (for people)."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import NamedTuple

from bot.config import BotSettings
from bot.money import MONEY_STEP, ORDER_QTY_STEP
from bot.risk import RiskGuard
from bot_api.events import Side

PRICE_MARGIN = Decimal("0.005")
"""Cash kept for a market buy filling above the last price (the book moved before it arrived)."""
CENT = Decimal("0.01")


class Skip(NamedTuple):
    """Why a signal is not traded: `kind` stays the same while the cause does (`cash`, `limit`,
    `lot`), `reason` is the sentence for people, with today's figures."""

    kind: str
    reason: str


def order_qty(
    *, settings: BotSettings, risk: RiskGuard, side: Side, price: Decimal, held: Decimal, cash: Decimal
) -> Decimal | Skip | None:
    """The quantity to trade; else the reason nothing can be (None: nothing to say, a sell while flat)."""
    if side is Side.SELL:
        return held if held > 0 else None
    qty = (settings.order_quote / price).quantize(ORDER_QTY_STEP, rounding=ROUND_DOWN)
    qty = risk.cap_buy(qty, price, held, ORDER_QTY_STEP)
    if qty <= 0:
        if settings.max_position_quote is not None and held > 0:
            return Skip("limit", f"the position is at MAX_POSITION_QUOTE ({settings.max_position_quote:f})")
        return Skip("lot", f"ORDER_QUOTE buys less than one lot ({ORDER_QTY_STEP:f}) at {price:f}")
    # The worst price the fill may get: slippage plus a margin for the book moving. Rounded up so
    # the estimate is never below the broker's fee.
    worst = price * (1 + settings.slippage_bps / 10_000 + PRICE_MARGIN)
    turnover = qty * worst
    needed = turnover + (turnover * settings.fee_rate).quantize(MONEY_STEP, rounding=ROUND_UP)
    if cash < needed:
        free = cash.quantize(CENT, rounding=ROUND_DOWN)
        return Skip("cash", f"not enough cash: {needed.quantize(CENT, rounding=ROUND_UP):f} needed, {free:f} free")
    return qty
