"""Jobs that one notifier does at a time, whatever the number of notifiers running side by side.

A chat gets its messages in order and at its pace only if one notifier sends to it, and Telegram
answers one long poll per bot token; so each channel, and the Telegram commands, is a lease in
the database: held by one notifier, renewed as it works, taken over by another once the holder
has not renewed it for `hold_for()` (it died). Stream entries and deliveries are already shared safely
(consumer groups, unique notifications, leased deliveries): the leases keep order and pace.
Times are each notifier's own clock (as the deliveries' leases): keep the hosts' clocks in sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from bot_api.models import utcnow
from crypto_bot_ui.notify.channels import SEND_TIMEOUT
from crypto_bot_ui.notify.models import Lease

SPARE = 10.0
"""Seconds a lease allows beyond a send and a pause (a database write, a slow turn)."""


def hold_for() -> timedelta:
    """How long a lease outlives its last renewal. A holder renews its channel before each send
    and pauses NOTIFY_MIN_INTERVAL at most between two, so a job changes hands only when its
    holder is gone, and the new holder's first message comes a full pace after the last one."""
    return timedelta(seconds=SEND_TIMEOUT + settings.NOTIFY.notify_min_interval + SPARE)
TELEGRAM = "telegram:commands"
"""The lease of answering Telegram's commands (one long poll per bot token)."""


@dataclass(frozen=True)
class Held:
    """A lease taken or renewed; `taken_from` names the notifier it lapsed from ("" if none)."""

    taken_from: str = ""


def hold(*, name: str, consumer: str, now: datetime | None = None) -> Held | None:
    """Take or renew the lease `name` for `consumer`; None while another notifier holds it."""
    now = now or utcnow()
    with transaction.atomic():
        row = Lease.objects.filter(name=name).values_list("holder", "until").first()
        if row is None:
            try:
                with transaction.atomic():  # a savepoint: another notifier may create it at the same moment
                    Lease.objects.create(name=name, holder=consumer, until=now + hold_for())
            except IntegrityError:
                return None
            return Held()
        holder, until = row
        if holder != consumer and until >= now:
            return None
        # Compare and set: of two notifiers finding it lapsed at once, one takes it.
        swapped = Lease.objects.filter(name=name, holder=holder, until=until).update(holder=consumer,
                                                                                     until=now + hold_for())
        if not swapped:
            return None
        return Held(taken_from="" if holder == consumer else holder)


def let_go(*, consumer: str) -> int:
    """A stopping notifier gives its jobs up at once (the others need not wait for them to lapse)."""
    return Lease.objects.filter(holder=consumer).delete()[0]
