"""Reads of trade records."""

from __future__ import annotations

from django.db.models import QuerySet

from crypto_bot_ui.trades.models import Trade


def trades_for_bot(*, bot_id: str) -> QuerySet[Trade]:
    """All stored trades of one bot, newest first."""
    return Trade.objects.filter(bot_id=bot_id).order_by("-executed_at", "-id")


def recorded_trade_ids(*, bot_id: str) -> set[str]:
    """The trade ids stored for a bot (used to reconcile with the bot's ledger)."""
    return set(Trade.objects.filter(bot_id=bot_id).values_list("trade_id", flat=True))
