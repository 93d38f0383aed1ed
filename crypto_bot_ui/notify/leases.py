"""Jobs that one notifier does at a time, whatever the number of notifiers running side by side.

A chat gets its messages in order and at its pace only if one notifier sends to it, and Telegram
answers one long poll per bot token; so each channel, and the Telegram commands, is a lease in
the database: held by one notifier, renewed as it works, taken over by another once the holder
has not renewed it for HOLD (it died). Stream entries and deliveries are already shared safely
(consumer groups, unique notifications, leased deliveries): the leases only keep order and pace.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from bot_api.models import utcnow
from crypto_bot_ui.notify.channels import SEND_TIMEOUT
from crypto_bot_ui.notify.models import Lease

HOLD = timedelta(seconds=SEND_TIMEOUT + 10)
"""How long a lease outlives its last renewal: longer than a send (the holder renews it before
each), so a job changes hands only when its holder is gone."""
TELEGRAM = "telegram:commands"
"""The lease of answering Telegram's commands (one long poll per bot token)."""


def hold(*, name: str, consumer: str, now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `consumer`; False while another notifier holds it."""
    now = now or utcnow()
    with transaction.atomic():
        renewed = Lease.objects.filter(Q(holder=consumer) | Q(until__lt=now), name=name).update(
            holder=consumer, until=now + HOLD)
        if renewed:
            return True
        try:
            with transaction.atomic():  # a savepoint: another notifier may create it at the same moment
                Lease.objects.create(name=name, holder=consumer, until=now + HOLD)
        except IntegrityError:
            return False
        return True


def let_go(*, consumer: str) -> int:
    """A stopping notifier gives its jobs up at once (the others need not wait out HOLD)."""
    return Lease.objects.filter(holder=consumer).delete()[0]
