"""Django admin for trade records: read-only facts, newest first."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from crypto_bot_ui.trades.models import Trade


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Trades are facts reported by the bot: listed, filtered and searched, never edited."""

    list_display = (
        "executed_at", "symbol", "side", "qty", "price", "fee", "realized_pnl", "bot_id", "trade_id",
    )
    list_filter = ("symbol", "side", "bot_id", ("executed_at", admin.DateFieldListFilter))
    search_fields = ("trade_id", "symbol", "order_id")
    ordering = ("-executed_at", "-id")
    date_hierarchy = "executed_at"
    list_per_page = 50
    readonly_fields = tuple(f.name for f in Trade._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Trades come only from the bot."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Trade | None = None) -> bool:
        """The record is an audit trail; nobody deletes from it through the admin."""
        return False
