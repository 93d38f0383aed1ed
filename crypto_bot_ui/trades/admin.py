"""Django admin for trade records: read-only facts, newest first."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from crypto_bot_ui.trades.models import EquitySnapshot, Trade


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


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The equity curve's points, as the bot reported them: read-only."""

    list_display = ("taken_at", "bot_id", "equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl", "seq")
    list_filter = ("bot_id", ("taken_at", admin.DateFieldListFilter))
    date_hierarchy = "taken_at"
    ordering = ("-taken_at", "-seq")
    readonly_fields = tuple(f.name for f in EquitySnapshot._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Points come only from the bot."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EquitySnapshot | None = None) -> bool:
        """The curve is a record; nobody edits it through the admin."""
        return False
