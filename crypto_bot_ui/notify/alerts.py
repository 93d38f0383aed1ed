"""Users' writes to their own alerts: make one, change one, delete one.

Every problem is an `AlertError` whose message is a sentence for the alert's author (the rule's
own check, `alert_rules.rule_problem`, and the checks against the bot: it exists, and a price alert
watches one of its symbols). Editing what the rule watches (kind, level, window, symbol) starts its
memory afresh; switching it off and on does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.contrib.auth import get_user_model
from django.db import transaction

from bot_api.models import MONEY_LIMIT, MONEY_PLACES
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.dashboard.selectors import bot_symbols, is_known_bot, not_a_symbol
from crypto_bot_ui.notify.alert_rules import AlertKind, AlertRule, rule_problem, watches
from crypto_bot_ui.notify.models import ALERT_CHANNELS, SHARED_CHANNELS, Alert

MAX_ALERTS_PER_USER = 100
"""Alerts one account may have, over every bot: each is evaluated on every price of its bot."""
NOTE_MAX = Alert._meta.get_field("note").max_length or 200
RULE_FIELDS = frozenset({"kind", "level", "window_minutes", "symbol"})
"""Changing any of these makes a new rule: its state (armed, peak, window) starts afresh."""


class AlertError(Exception):
    """An alert that cannot be made or changed as asked; `message` says why, for people, `code` is stable
    (`invalid`, `unknown_bot`, `unknown_symbol`, `too_many_alerts`). Not retryable as is."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class AlertChanges(TypedDict, total=False):
    """What `update_alert` may change; a field left out stays as it is."""

    kind: str
    level: Decimal
    symbol: str
    window_minutes: int | None
    channels: Sequence[str]
    note: str
    enabled: bool


def create_alert(*, owner: Any, bot_id: str, kind: str, level: Decimal, symbol: str = "",
                 window_minutes: int | None = None, channels: Sequence[str] = ("page",), note: str = "",
                 enabled: bool = True) -> Alert:
    """A new alert of `owner` on `bot_id`; AlertError if it cannot be, BotDataUnavailableError when
    Redis cannot say whether the bot (or its symbols) exist."""
    symbol, note = symbol.strip(), note.strip()
    wanted = _channels(channels)
    _check_shared(owner, bot_id, wanted)
    _check_rule(kind, level, window_minutes)
    _check_note(note)
    if not is_known_bot(bot_id):
        raise AlertError(f"There is no bot {bot_id}: no bot of that id is registered.", code="unknown_bot")
    _check_symbol(bot_id, kind, symbol)
    with transaction.atomic():
        # The owner's row locked: two requests at once cannot both pass the count.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        if Alert.objects.filter(owner=owner).count() >= MAX_ALERTS_PER_USER:
            raise AlertError(f"You have {MAX_ALERTS_PER_USER} alerts, the most one account may have: "
                               "delete one you no longer need first.", code="too_many_alerts")
        return Alert.objects.create(owner=owner, bot_id=bot_id, kind=kind, level=level, symbol=symbol,
                                    window_minutes=window_minutes, channels=wanted, note=note, enabled=enabled)


def update_alert(*, alert: Alert, **changes: Unpack[AlertChanges]) -> Alert:
    """Change some of an alert's fields. A change to the rule (kind, level, window, symbol) checks the
    whole rule again, as `create_alert` does, and resets its state; channels and note are checked as
    given; `enabled` alone is never refused. Returns the alert as saved."""
    unknown = set(changes) - set(AlertChanges.__annotations__)
    if unknown:
        raise TypeError(f"update_alert() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        # Locked as the notifier locks the alerts it evaluates: its save of the old rule's state
        # cannot land after this reset.
        row = Alert.objects.select_for_update().get(pk=alert.pk)
        kind = str(changes.get("kind", row.kind))
        level = changes.get("level", row.level)
        window = changes.get("window_minutes", row.window_minutes)
        symbol = str(changes.get("symbol", row.symbol)).strip()
        if RULE_FIELDS & set(changes):  # switching it off, or a new note, is never refused for the rule
            _check_rule(kind, level, window)
        if "channels" in changes:
            row.channels = _channels(changes["channels"])
            _check_shared(row.owner, row.bot_id, row.channels)
        if "note" in changes:
            row.note = changes["note"].strip()
            _check_note(row.note)
        if "enabled" in changes:
            row.enabled = bool(changes["enabled"])
        if symbol != row.symbol or watches(AlertKind(kind)) != watches(AlertKind(row.kind)):
            _check_symbol(row.bot_id, kind, symbol)
        new_rule = (kind, Decimal(level), window, symbol) != (row.kind, row.level, row.window_minutes, row.symbol)
        row.kind, row.level, row.window_minutes, row.symbol = kind, level, window, symbol
        if new_rule:
            row.state = {}
        row.save()
    alert.refresh_from_db()
    return alert


def delete_alert(*, alert: Alert) -> None:
    """Delete an alert and its firings (the notifications already sent stay)."""
    alert.delete()


def _check_rule(kind: str, level: Any, window_minutes: Any) -> None:
    problem = rule_problem(AlertRule(kind=kind, level=level, window_minutes=window_minutes))  # type: ignore[arg-type]
    if problem:
        raise AlertError(problem)
    exponent = level.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_PLACES:
        raise AlertError(f"The level may have at most {MONEY_PLACES} decimal places.")
    if abs(level) >= MONEY_LIMIT:
        raise AlertError(f"The level must be below {MONEY_LIMIT:,}.")


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX:
        raise AlertError(f"The note may be at most {NOTE_MAX} characters (it has {len(note)}).")


def _check_symbol(bot_id: str, kind: str, symbol: str) -> None:
    """A price alert watches one of the bot's symbols; the others watch the account and take none."""
    if watches(AlertKind(kind)) != "price":
        if symbol:
            raise AlertError("Only price alerts take a symbol.")
        return
    symbols = bot_symbols(bot_id)
    if not symbol:
        raise AlertError(f"A price alert needs a symbol: one of {', '.join(sorted(symbols)) or 'none yet'}.",
                           code="unknown_symbol")
    if symbol not in symbols:
        raise AlertError(not_a_symbol(symbol, symbols) + ".", code="unknown_symbol")


def _check_shared(owner: Any, bot_id: str, channels: Sequence[str]) -> None:
    """The shared channels (the Apprise URLs, the webhook) carry the operators' alerts only: a viewer's
    go to their own page and Telegram chat."""
    shared = [c for c in channels if c in SHARED_CHANNELS]
    if shared and not can_control(owner.pk, bot_id):
        raise AlertError(f"Only operators of bot {bot_id} may send alerts to the shared channels "
                         f"({', '.join(shared)}); yours can go to this page and your Telegram chat.")


def _channels(channels: Sequence[str]) -> list[str]:
    """The channels asked for, each once, in the usual order; at least one."""
    if isinstance(channels, str):
        channels = [channels]
    unknown = [c for c in channels if c not in ALERT_CHANNELS]
    if unknown:
        raise AlertError(f"{unknown[0]!r} is not a channel: choose some of {', '.join(ALERT_CHANNELS)}.")
    if not channels:
        raise AlertError(f"Choose at least one channel: {', '.join(ALERT_CHANNELS)}.")
    return [c for c in ALERT_CHANNELS if c in channels]
