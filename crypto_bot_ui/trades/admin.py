"""Django admin for the records: the bots (their own operators, retirement from the list), trade
facts read-only (a journal note editable by who may write that bot's notes, with its history), CSV
export, equity points, the command audit log, the notes' audit and the recorder's dead letters
read-only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator, capfirst

from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.core.roles import can_note
from crypto_bot_ui.trades.errors import NoteError
from crypto_bot_ui.trades.models import Bot, BotCommand, DeadLetter, EquitySnapshot, Trade, TradeNoteChange
from crypto_bot_ui.trades.selectors import bot_list, csv_rows, registry_entries, with_note, with_note_changes
from crypto_bot_ui.trades.services import normalised_note, retire_bots, set_trade_note

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


class _ViewOnlyAdmin(_RecordAdmin):
    """Records nobody changes here either: viewable, never editable."""

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Viewable, never editable."""
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


class HasNoteFilter(admin.SimpleListFilter):
    """Trades with a journal note, or without one."""

    title = "has note"
    parameter_name = "has_note"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """Yes or no."""
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Trade]) -> QuerySet[Trade]:
        """The trades with a note (yes) or without one (no)."""
        value = self.value()
        return queryset if value not in ("yes", "no") else with_note(queryset, noted=value == "yes")


class TradeForm(forms.ModelForm):  # type: ignore[type-arg]
    """A trade's form: its note (where the user may write it) checked as the service will store it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        note = self.fields.get("note")
        if note is not None:
            # The service counts the length once CRLF is LF (a textarea sends CRLF, and counts one per
            # line break as its maxlength): the field's own check would count each line break twice.
            # Leading blanks are the author's layout; the service drops the trailing ones.
            note.validators = [v for v in note.validators if not isinstance(v, MaxLengthValidator)]
            note.strip = False  # type: ignore[attr-defined]

    def clean_note(self) -> str:
        """The note as it will be stored, or the service's reason why it cannot be."""
        try:
            return normalised_note(self.cleaned_data["note"])
        except NoteError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


NOTE_HISTORY_SHOWN = 20
"""Note changes listed on a trade's page; the rest are a link away."""
TRADE_FACTS = plain_decimals(Trade, (f.name for f in Trade._meta.fields if f.name != "note"))
"""What the bot reported of a trade: read-only."""


@admin.register(Trade)
class TradeAdmin(_RecordAdmin):
    """Trades are facts reported by the bot: listed, filtered, searched and exported; only the note
    changes, by who may write that bot's notes (`can_note`), through the service that audits it."""

    form = TradeForm
    list_display = plain_decimals(Trade, (
        "executed_at", "symbol", "side", "qty", "price", "fee", "fee_asset", "realized_pnl", "bot_id", "trade_id",
    ))
    list_filter = ("symbol", "side", "bot_id", HasNoteFilter, ("executed_at", admin.DateFieldListFilter))
    search_fields = ("trade_id", "symbol", "order_id")
    ordering = ("-executed_at", "-id")
    date_hierarchy = "executed_at"
    list_per_page = 50
    readonly_fields = (*TRADE_FACTS, "note_history")
    fields = (*TRADE_FACTS, "note", "note_history")
    actions = ["export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trade]:
        """The trades, each with its note's last change (the CSV export has it)."""
        return with_note_changes(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Trade | None = None) -> tuple[Any, ...]:
        """The facts; the note too for a user who may not write this bot's notes."""
        fixed = tuple(super().get_readonly_fields(request, obj))
        return fixed if obj is not None and can_note(request.user.pk, obj.bot_id) else (*fixed, "note")

    def save_model(self, request: HttpRequest, obj: Trade, form: Any, change: bool) -> None:
        """Only the note is saved, through the service (as request.user, audited), never the whole row;
        nothing where the note was read-only."""
        if "note" in form.cleaned_data:
            set_trade_note(trade=obj, note=form.cleaned_data["note"], user=request.user)

    @admin.display(description="Note history")
    def note_history(self, obj: Trade) -> SafeString | str:
        """Who changed the note, when, and what it became, newest first."""
        changes = list(obj.note_changes.order_by("-changed_at", "-id")[:NOTE_HISTORY_SHOWN + 1])
        if not changes:
            return "never changed"
        rows = format_html_join("", "<li>{} by {}: {}</li>", (
            (f"{c.changed_at:%Y-%m-%d %H:%M:%S} UTC", c.username or "?", linebreaksbr(c.note) or "(cleared)")
            for c in changes[:NOTE_HISTORY_SHOWN]))
        if len(changes) <= NOTE_HISTORY_SHOWN:
            return format_html("<ul>{}</ul>", rows)
        every = reverse("admin:trades_tradenotechange_changelist") + f"?trade__id__exact={obj.pk}"
        return format_html('<ul>{}</ul><a href="{}">every change</a>', rows, every)

    @admin.action(description="Export selected trades as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Trade]) -> HttpResponse:
        """The selection, in the same columns as /api/trades.csv, newest first."""
        buffer = io.StringIO()
        csv.writer(buffer).writerows(csv_rows(queryset.order_by("-executed_at", "-id")))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="trades.csv"'
        return response


@admin.register(TradeNoteChange)
class TradeNoteChangeAdmin(_ViewOnlyAdmin):
    """Who changed which trade's journal note, when, and what it became: read-only (the notes' audit)."""

    list_display = ("changed_at", "username", "trade", "note_start")
    list_filter = (("changed_at", admin.DateFieldListFilter),)
    list_select_related = ("trade",)
    search_fields = ("username", "trade__trade_id", "note")
    date_hierarchy = "changed_at"
    ordering = ("-changed_at", "-id")
    readonly_fields = tuple(f.name for f in TradeNoteChange._meta.fields)

    @admin.display(description="Note")
    def note_start(self, obj: TradeNoteChange) -> str:
        """The note as it became, its start."""
        return Truncator(obj.note).chars(80) or "(cleared)"


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(_ViewOnlyAdmin):
    """The equity curve's points, as the bot reported them: read-only."""

    list_display = plain_decimals(EquitySnapshot, (
        "taken_at", "bot_id", "equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl", "seq",
    ))
    list_filter = ("bot_id", ("taken_at", admin.DateFieldListFilter))
    date_hierarchy = "taken_at"
    ordering = ("-taken_at", "-seq")
    readonly_fields = plain_decimals(EquitySnapshot, (f.name for f in EquitySnapshot._meta.fields))
    fields = readonly_fields


@admin.register(BotCommand)
class BotCommandAdmin(_ViewOnlyAdmin):
    """Who sent which command, when, from where, and the outcome: read-only."""

    list_display = ("issued_at", "username", "command", "symbol", "close_positions", "status", "error", "refused",
                    "address", "bot_id")
    list_filter = ("command", "status", "refused", "bot_id", ("issued_at", admin.DateFieldListFilter))
    search_fields = ("username", "command_id", "symbol")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-id")
    readonly_fields = tuple(f.name for f in BotCommand._meta.fields)


@admin.register(DeadLetter)
class DeadLetterAdmin(_ViewOnlyAdmin):
    """Entries the recorder could not store, with the reason: read-only (the bot's ledger has the trades)."""

    list_display = ("dead_at", "entry_id", "reason", "bot_id")
    list_filter = ("bot_id", ("dead_at", admin.DateFieldListFilter))
    search_fields = ("entry_id", "reason")
    ordering = ("-dead_at", "-id")
    readonly_fields = tuple(f.name for f in DeadLetter._meta.fields)
