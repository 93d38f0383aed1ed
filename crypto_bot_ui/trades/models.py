"""Stored trades, one row per fill reported by a bot."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Side(models.TextChoices):
    """Trade direction, as in bot_api.events.Side."""

    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


def _money() -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(max_digits=32, decimal_places=12)


class Trade(models.Model):
    """A fill as the bot reported it; unique per bot and trade id (recording is idempotent)."""

    bot_id = models.CharField(max_length=32, default="main")
    trade_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64, blank=True, default="")
    seq = models.BigIntegerField(null=True, blank=True, help_text="Event sequence number from the bot")
    symbol = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = _money()
    price = _money()
    quote_qty = _money()
    fee = _money()
    fee_asset = models.CharField(max_length=16)
    realized_pnl = _money()
    reason = models.CharField(max_length=200, blank=True, default="")
    executed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at", "-id"]
        indexes = [
            models.Index(fields=["bot_id", "-executed_at"], name="trade_bot_time"),
            models.Index(fields=["symbol", "-executed_at"], name="trade_symbol_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bot_id", "trade_id"], name="trade_unique_per_bot"),
            models.CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="trade_side_valid"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="trade_qty_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="trade_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} @ {self.price} ({self.trade_id})"


class EquitySnapshot(models.Model):
    """A point of a bot's equity curve; unique per bot and seq (recording is idempotent)."""

    bot_id = models.CharField(max_length=32, default="main")
    seq = models.BigIntegerField()
    taken_at = models.DateTimeField()
    equity = _money()
    cash = _money()
    realized_pnl = _money()
    unrealized_pnl = _money()
    total_pnl = _money()

    class Meta:
        ordering = ["-taken_at", "-seq"]
        indexes = [models.Index(fields=["bot_id", "-taken_at"], name="equity_bot_time")]
        constraints = [models.UniqueConstraint(fields=["bot_id", "seq"], name="equity_unique_per_bot_seq")]

    def __str__(self) -> str:
        return f"{self.bot_id} equity {self.equity} at {self.taken_at:%Y-%m-%d %H:%M:%S}"
