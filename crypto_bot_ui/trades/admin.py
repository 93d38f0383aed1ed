"""Django admin for the records: the bots (their own operators, retirement from the list), trade
facts read-only (a journal note editable), CSV export, equity points, the command audit log and
the recorder's dead letters read-only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst

from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import Bot, BotCommand, DeadLetter, EquitySnapshot, Trade
from crypto_bot_ui.trades.selectors import bot_list, csv_rows, registry_entries
from crypto_bot_ui.trades.services import retire_bots, set_trade_note

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


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The bots, online or not as the registry says now, with their own operators; retiring one
    removes it from the bot list (its records stay). A bot comes back by itself when it runs."""

    list_display = ("bot_id", "online", "last_seen", "first_seen", "retired_at", "operator_count")
    list_filter = (("retired_at", admin.EmptyFieldListFilter),)
    search_fields = ("bot_id",)
    filter_horizontal = ("operators",)
    actions = ["retire"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bot]:
        """The bots, each with its number of operators."""
        return bot_list()

    def get_readonly_fields(self, request: HttpRequest, obj: Bot | None = None) -> tuple[str, ...]:
        """The id is the bot's identity: typed in only when adding one (to grant operators before it runs)."""
        return ("first_seen", "retired_at") if obj is None else ("bot_id", "first_seen", "retired_at")

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Bots are retired from the list (the action), never deleted: their records name them."""
        return False

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """The list, each row given what the registry says of it now (one read of Redis per page)."""
        changelist = super().get_changelist_instance(request)
        entries = registry_entries()
        for bot in changelist.result_list:  # evaluates the page; the template shows these very objects
            bot.registry_known = entries is not None
            bot.seen = None if entries is None else entries.get(bot.bot_id)
        return changelist

    @admin.display(description="Online", boolean=True)
    def online(self, obj: Any) -> bool | None:
        """Whether its heartbeat is alive (unknown without Redis)."""
        if not getattr(obj, "registry_known", False):
            return None
        return obj.seen is not None and obj.seen.online

    @admin.display(description="Last seen")
    def last_seen(self, obj: Any) -> datetime | str:
        """Its last heartbeat, as the registry has it."""
        seen = getattr(obj, "seen", None)
        if seen is not None:
            return seen.last_seen  # type: ignore[no-any-return]
        return "not listed" if getattr(obj, "registry_known", False) else "unknown (Redis does not answer)"

    @admin.display(description="Operators", ordering="operator_count")
    def operator_count(self, obj: Any) -> int:
        """How many users operate this bot only (besides everyone with the control_bot permission)."""
        return int(obj.operator_count)

    @admin.action(description="Remove from the bot list (retired)")
    def retire(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        """Retire each selected bot that is offline; an online one is refused, with why."""
        for result in retire_bots(bot_ids=list(queryset.values_list("bot_id", flat=True))):
            self.message_user(request, result.message, messages.SUCCESS if result.retired else messages.ERROR)


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
