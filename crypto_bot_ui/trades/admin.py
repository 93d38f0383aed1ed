"""Django admin for the records: trade facts read-only (a journal note editable), CSV export,
equity points, the command audit log and the recorder's dead letters read-only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst

from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import BotCommand, DeadLetter, EquitySnapshot, Trade
from crypto_bot_ui.trades.selectors import csv_rows
from crypto_bot_ui.trades.services import set_trade_note

Column = str | Callable[[models.Model], str]


def _plain_column(model: type[models.Model], name: str) -> Callable[[models.Model], str]:
    """A list or detail column showing the decimal field `name` plainly ("3500.93", not 12 places)."""

    @admin.display(description=capfirst(str(model._meta.get_field(name).verbose_name)), ordering=name)
    def column(obj: models.Model) -> str:
        value = getattr(obj, name)
        return "—" if value is None else plain(value)  # a nullable one (fee_quote) may be empty

    column.__name__ = name  # the admin's CSS class of the column
    return column


def plain_decimals(model: type[models.Model], names: Iterable[str]) -> tuple[Column, ...]:
    """`names`, with each decimal field's replaced by a column that shows it without trailing zeros."""
    decimals = {f.name for f in model._meta.fields if isinstance(f, models.DecimalField)}
    return tuple(_plain_column(model, name) if name in decimals else name for name in names)


class _RecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records come only from the bot (or the web process) and nobody deletes them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Rows are written by the system, never typed in."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """The records are an audit trail."""
        return False


@admin.register(Trade)
class TradeAdmin(_RecordAdmin):
    """Trades are facts reported by the bot: listed, filtered, searched and exported; only the note changes."""

    list_display = plain_decimals(Trade, (
        "executed_at", "symbol", "side", "qty", "price", "fee", "fee_asset", "realized_pnl", "bot_id", "trade_id",
    ))
    list_filter = ("symbol", "side", "bot_id", ("executed_at", admin.DateFieldListFilter))
    search_fields = ("trade_id", "symbol", "order_id")
    ordering = ("-executed_at", "-id")
    date_hierarchy = "executed_at"
    list_per_page = 50
    readonly_fields = plain_decimals(Trade, (f.name for f in Trade._meta.fields if f.name != "note"))
    fields = (*readonly_fields, "note")
    actions = ["export_csv"]

    def save_model(self, request: HttpRequest, obj: Trade, form: object, change: bool) -> None:
        """Only the note is saved: through the service, never the whole row."""
        set_trade_note(trade=obj, note=obj.note)

    @admin.action(description="Export selected trades as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Trade]) -> HttpResponse:
        """The selection, in the same columns as /api/trades.csv, newest first."""
        buffer = io.StringIO()
        csv.writer(buffer).writerows(csv_rows(queryset.order_by("-executed_at", "-id")))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="trades.csv"'
        return response


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(_RecordAdmin):
    """The equity curve's points, as the bot reported them: read-only."""

    list_display = plain_decimals(EquitySnapshot, (
        "taken_at", "bot_id", "equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl", "seq",
    ))
    list_filter = ("bot_id", ("taken_at", admin.DateFieldListFilter))
    date_hierarchy = "taken_at"
    ordering = ("-taken_at", "-seq")
    readonly_fields = plain_decimals(EquitySnapshot, (f.name for f in EquitySnapshot._meta.fields))
    fields = readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Viewable, never editable."""
        return False


@admin.register(BotCommand)
class BotCommandAdmin(_RecordAdmin):
    """Who sent which command, when, from where, and the outcome: read-only."""

    list_display = ("issued_at", "username", "command", "symbol", "close_positions", "status", "error", "refused",
                    "address", "bot_id")
    list_filter = ("command", "status", "refused", "bot_id", ("issued_at", admin.DateFieldListFilter))
    search_fields = ("username", "command_id", "symbol")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-id")
    readonly_fields = tuple(f.name for f in BotCommand._meta.fields)

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """An audit log is viewable, never editable."""
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(_RecordAdmin):
    """Entries the recorder could not store, with the reason: read-only (the bot's ledger has the trades)."""

    list_display = ("dead_at", "entry_id", "reason", "bot_id")
    list_filter = ("bot_id", ("dead_at", admin.DateFieldListFilter))
    search_fields = ("entry_id", "reason")
    ordering = ("-dead_at", "-id")
    readonly_fields = tuple(f.name for f in DeadLetter._meta.fields)

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Viewable, never editable."""
        return False
