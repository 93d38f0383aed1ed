"""The notifier's writes: a batch of a bot's events turned into notifications and alert firings in
one transaction, and each channel's deliveries claimed, sent or put off.

`take_events` is idempotent: every notification is unique by (bot, key) and every firing by
(alert, seq), so a batch read again after a crash (the stream entries were not yet acknowledged)
changes nothing. An alert's state is saved with its firing: a restart never fires it again.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q

from bot_api.events import (
    Envelope,
    MarksData,
    PortfolioEvent,
    PriceUpdateEvent,
    StatusChangeEvent,
    StatusEvent,
    TradeExecutedEvent,
)
from bot_api.models import utcnow
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.notify import compose, leases
from crypto_bot_ui.notify.alert_rules import (
    AlertKind,
    AlertRule,
    AlertState,
    Firing,
    Observation,
    evaluate,
    rule_problem,
    watches,
)
from crypto_bot_ui.notify.compose import Note, Watch
from crypto_bot_ui.notify.models import Alert, AlertFiring, BotWatch, Delivery, DeliveryState, Notification
from crypto_bot_ui.notify.routing import PAGE, Routes

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
"""How long a claimed delivery is another notifier's to leave alone (longer than any send)."""
EXPIRY = timedelta(days=1)
RETENTION = timedelta(days=90)
"""Notifications and alert firings are kept this long (the admin's history), then deleted."""
"""A delivery still failing after this long is given up (kept, marked expired, for the admin)."""


@dataclass(frozen=True)
class Toast:
    """An alert that fired, for its owner's open pages (sent after the commit)."""

    owner_id: int
    alert_id: int
    bot: str
    symbol: str
    kind: str
    text: str
    value: str
    fired_at: datetime


@dataclass
class TakeResult:
    """What one batch made."""

    created: int = 0
    toasts: list[Toast] = field(default_factory=list)


def link_of(public_url: str, bot_id: str) -> str:
    """The bot's page, for the links in messages."""
    return f"{public_url.rstrip('/')}/bots/{bot_id}/"


def take_events(*, bot_id: str, events: Sequence[Envelope], routes: Routes, public_url: str) -> TakeResult:
    """Turn one batch of a bot's events (in seq order) into notifications, deliveries and firings."""
    result = TakeResult()
    if all(isinstance(event, PriceUpdateEvent | PortfolioEvent) for event in events) and not (
            events and Alert.objects.filter(bot_id=bot_id, enabled=True).exists()):
        return result  # prices (and the account) only matter to alerts: no transaction at ten a second
    with transaction.atomic():
        row, _ = BotWatch.objects.select_for_update().get_or_create(bot_id=bot_id)
        watch = Watch(online=row.online, exchange_offline=row.exchange_offline)
        notes: list[Note] = []
        for event in events:
            if isinstance(event, TradeExecutedEvent):
                notes.append(compose.of_trade(event))
            elif isinstance(event, StatusChangeEvent):
                notes.append(compose.of_state(event))
            elif isinstance(event, StatusEvent):
                told, watch = compose.of_status(event, watch)
                notes.extend(told)
        for note in notes:
            result.created += _make(note, routes.broadcast(note.kind), link_of(public_url, bot_id))
        _fire_alerts(bot_id, events, routes, public_url, result)
        if watch.exchange_offline != row.exchange_offline:
            row.exchange_offline = watch.exchange_offline
            row.save(update_fields=["exchange_offline"])
    return result


def note_presence(*, bot_id: str, online: bool, routes: Routes, public_url: str, at: datetime | None = None) -> int:
    """The bot's heartbeat as the registry sees it now; a notification when it changed."""
    with transaction.atomic():
        row, _ = BotWatch.objects.select_for_update().get_or_create(bot_id=bot_id)
        if row.online == online:
            return 0
        notes, _ = compose.of_presence(bot_id, online, Watch(online=row.online), at or utcnow())
        row.online = online
        row.save(update_fields=["online"])
        return sum(_make(note, routes.broadcast(note.kind), link_of(public_url, bot_id)) for note in notes)


def note_daily(*, bot_id: str, status: StatusEvent, day: str, routes: Routes, public_url: str) -> int:
    """The bot's summary of `day` (once per bot and day, whoever asks twice)."""
    with transaction.atomic():
        row, _ = BotWatch.objects.select_for_update().get_or_create(bot_id=bot_id)
        note = compose.daily_summary(bot_id, status.data, day, utcnow())
        created = _make(note, routes.broadcast(note.kind), link_of(public_url, bot_id))
        row.daily_sent_on = datetime.strptime(day, "%Y-%m-%d").date()
        row.save(update_fields=["daily_sent_on"])
        return created


def _make(note: Note, channels: Iterable[str], link: str) -> int:
    """Store a notification and its pending deliveries, unless its (bot, key) exists: 1 if made."""
    made, created = Notification.objects.get_or_create(
        bot_id=note.bot, key=note.key,
        defaults={"kind": note.kind, "seq": note.seq, "title": note.title[:200], "text": note.text[:2000],
                  "link": link[:300], "data": note.data, "occurred_at": note.occurred_at},
    )
    if not created:
        return 0
    now = utcnow()
    Delivery.objects.bulk_create([Delivery(notification=made, channel=channel, due_at=now) for channel in channels])
    return 1


def _observations(events: Sequence[Envelope]) -> list[tuple[str, str, Observation, int | None]]:
    """(input, symbol, observation, seq) of each value an alert may watch, in event order."""
    seen: list[tuple[str, str, Observation, int | None]] = []
    for event in events:
        marks: MarksData | None = None
        if isinstance(event, PriceUpdateEvent):
            seen.append(("price", event.data.symbol, Observation(at=event.ts, value=event.data.price), event.seq))
            marks = event.data.marks
        elif isinstance(event, StatusEvent | PortfolioEvent):
            marks = event.data.marks
        if marks is not None:
            if marks.today is not None:
                seen.append(("daily_pnl", "", Observation(at=event.ts, value=marks.today), event.seq))
            seen.append(("equity", "", Observation(at=event.ts, value=marks.equity), event.seq))
    return seen


def _fire_alerts(bot_id: str, events: Sequence[Envelope], routes: Routes, public_url: str,
                 result: TakeResult) -> None:
    """Evaluate the bot's enabled alerts on this batch; record and route what fires."""
    observations = _observations(events)
    if not observations:
        return
    # of=("self",): PostgreSQL locks no row through the outer join to the owner's Telegram link.
    alerts = list(Alert.objects.select_for_update(of=("self",)).filter(bot_id=bot_id, enabled=True)
                  .select_related("owner__telegram_link"))
    for alert in alerts:
        rule = AlertRule(kind=AlertKind(alert.kind), level=alert.level, window_minutes=alert.window_minutes)
        problem = rule_problem(rule)
        if problem is not None:
            # A rule no page would accept (edited by hand in the admin): it must not stop the bot's
            # other notifications, which share this batch. Switched off, said once.
            logger.error("alert %s switched off: %s", alert.pk, problem)
            alert.enabled = False
            alert.save(update_fields=["enabled"])
            continue
        needs = watches(rule.kind)
        try:
            state = AlertState.from_json(alert.state or {})
        except ValueError:
            logger.warning("alert %s had an unreadable state; it starts afresh", alert.pk)
            state = AlertState()
        before = state
        for watched, symbol, observation, seq in observations:
            if watched != needs or (needs == "price" and symbol != alert.symbol):
                continue
            state, firing = evaluate(rule, state, observation)
            if firing is not None:
                _record_firing(alert, firing, seq, routes, public_url, result)
        if state != before:
            alert.state = state.to_json()
            alert.save(update_fields=["state"])


def _record_firing(alert: Alert, firing: Firing, seq: int | None, routes: Routes, public_url: str,
                   result: TakeResult) -> None:
    where = f"{alert.bot_id} {alert.symbol}".strip()
    text = f"{where}: {firing.text}"
    _, created = AlertFiring.objects.get_or_create(
        alert=alert, seq=seq, defaults={"fired_at": firing.at, "value": firing.value, "text": text[:300]})
    if not created:
        return
    link = getattr(alert.owner, "telegram_link", None)
    # A private chat's id is its user's id: the owner's chat is known before they ever wrote.
    owner_chat = (link.chat_id or link.telegram_user_id) if link is not None else None
    # The shared channels (Apprise URLs, the webhook) are the operators': a viewer's alert, with its
    # free-text note, goes to the viewer's own page and chat only.
    shared = can_control(alert.owner_id, alert.bot_id)
    note = Note(bot=alert.bot_id, key=f"alert:{alert.pk}:{seq}", kind="alert", seq=seq, occurred_at=firing.at,
                title=f"Alert: {text}", text=text + (f"\n{alert.note}" if alert.note else ""),
                data={"alert": alert.pk, "kind": alert.kind, "symbol": alert.symbol, "value": str(firing.value),
                      "owner": alert.owner.get_username()})
    channels = routes.for_alert(alert.channels, owner_chat, shared=shared)
    result.created += _make(note, channels, link_of(public_url, alert.bot_id))
    if PAGE in alert.channels:
        result.toasts.append(Toast(owner_id=alert.owner_id, alert_id=alert.pk, bot=alert.bot_id, symbol=alert.symbol,
                                   kind=alert.kind, text=text, value=str(firing.value), fired_at=firing.at))


# Deliveries -------------------------------------------------------------------------------------


def claim_due(*, channel: str, consumer: str, limit: int, now: datetime | None = None) -> list[Delivery]:
    """Lease up to `limit` due deliveries of `channel` to `consumer`, oldest first (with their
    notification); none unless `consumer` holds the channel (`leases.hold`).

    A returned delivery's `in_flight` is true when an earlier send of it may have arrived (its
    notifier died during the send): the channel marks it as a possible repeat."""
    now = now or utcnow()
    free = Q(leased_until__isnull=True) | Q(leased_until__lt=now) | Q(leased_by=consumer)
    with transaction.atomic():
        held = leases.hold(name=channel, consumer=consumer, now=now)
        if held is None:
            return []  # another notifier sends to this channel (one at a time keeps order and pace)
        if held.taken_from:
            # Its sender died: what it had claimed goes first, from here (marked if maybe sent).
            Delivery.objects.filter(channel=channel, state=DeliveryState.PENDING, leased_by=held.taken_from).update(
                leased_by="", leased_until=None)
        # In order, and the head first: a delivery put off, or still another's, holds up the later
        # ones of its channel, so that a chat reads its trades in the order they happened.
        head = (Delivery.objects.filter(channel=channel, state=DeliveryState.PENDING)
                .order_by("notification_id").values_list("id", "due_at", "leased_by", "leased_until")[:limit])
        ids = [pk for pk, *_ in itertools.takewhile(
            lambda row: row[1] <= now and (row[3] is None or row[3] < now or row[2] == consumer), head)]
        if not ids:
            return []
        Delivery.objects.filter(free, id__in=ids).update(leased_by=consumer, leased_until=now + LEASE)
    return list(Delivery.objects.filter(id__in=ids, leased_by=consumer).select_related("notification")
                .order_by("notification_id"))


def mark_in_flight(*, ids: Sequence[int]) -> None:
    """These deliveries are about to be sent: committed first, so that a notifier killed during
    the send leaves the mark behind and the next send says it may be a repeat."""
    Delivery.objects.filter(id__in=ids).update(in_flight=True)


def mark_sent(*, ids: Sequence[int], at: datetime | None = None) -> None:
    """These deliveries reached their channel."""
    Delivery.objects.filter(id__in=ids).update(state=DeliveryState.SENT, sent_at=at or utcnow(), last_error="",
                                               leased_by="", leased_until=None, in_flight=False)


def put_off(*, deliveries: Sequence[Delivery], error: str, until: datetime, maybe_sent: bool = False,
            permanent: bool = False) -> int:
    """These deliveries failed: try again at `until`, or give up those older than EXPIRY (or all,
    when the channel refused them for what they are: `permanent`); returns how many expired.
    `maybe_sent` (no answer in time, a connection lost mid-request): the next send says it may be a
    repeat. Each delivery's `in_flight` is as `claim_due` returned it."""
    now = utcnow()
    expired = [d.pk for d in deliveries if permanent or now - d.notification.created_at > EXPIRY]
    retry = [d for d in deliveries if d.pk not in expired]
    for flag in (True, False):
        # A possible earlier arrival stays marked until the delivery is sent (its `in_flight` as claimed).
        ids = [d.pk for d in retry if (d.in_flight or maybe_sent) is flag]
        Delivery.objects.filter(id__in=ids).update(attempts=F("attempts") + 1, due_at=until, last_error=error[:300],
                                                   leased_by="", leased_until=None, in_flight=flag)
    Delivery.objects.filter(id__in=expired).update(state=DeliveryState.EXPIRED, last_error=error[:300],
                                                   leased_by="", leased_until=None)
    return len(expired)


def release_leases(*, consumer: str) -> int:
    """A notifier starting again takes back what it had leased before it died (it sends it again)."""
    return Delivery.objects.filter(leased_by=consumer, state=DeliveryState.PENDING).update(leased_until=None)


def release(*, ids: Sequence[int]) -> None:
    """Claimed deliveries this turn did not send (they did not fit): due again now."""
    Delivery.objects.filter(id__in=ids).update(leased_by="", leased_until=None)


def tidy(*, channels: Sequence[str], now: datetime | None = None) -> tuple[int, int]:
    """Give up the pending deliveries of channels not in `channels` (a chat or URL taken out of the
    settings), and delete notifications older than RETENTION with their deliveries, and firings
    older than RETENTION. Returns (deliveries given up, notifications deleted)."""
    now = now or utcnow()
    expired = (Delivery.objects.filter(state=DeliveryState.PENDING).exclude(channel__in=list(channels))
               .update(state=DeliveryState.EXPIRED, last_error="channel no longer configured",
                       leased_by="", leased_until=None))
    old = Notification.objects.filter(created_at__lt=now - RETENTION).exclude(deliveries__state=DeliveryState.PENDING)
    _, deleted = old.delete()
    AlertFiring.objects.filter(fired_at__lt=now - RETENTION).delete()
    return expired, deleted.get(Notification._meta.label, 0)
