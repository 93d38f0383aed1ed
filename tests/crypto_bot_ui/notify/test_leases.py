"""One notifier at a time sends to a channel and answers Telegram; another takes over when it is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot_api.models import utcnow
from crypto_bot_ui.notify import leases, services
from crypto_bot_ui.notify.models import Delivery, Notification

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def pending(count: int) -> None:
    for n in range(count):
        made = Notification.objects.create(bot_id="main", key=f"k{n}", kind="trade", title=f"t{n}", text="x",
                                           occurred_at=utcnow())
        Delivery.objects.create(notification=made, channel="webhook", due_at=utcnow())


def test_a_lease_is_held_renewed_and_taken_over_only_once_it_lapses() -> None:
    now = utcnow()
    assert leases.hold(name="webhook", consumer="n1", now=now)
    assert not leases.hold(name="webhook", consumer="n2", now=now)
    assert leases.hold(name="webhook", consumer="n1", now=now + leases.HOLD - timedelta(seconds=1))  # renewed
    assert not leases.hold(name="webhook", consumer="n2", now=now + leases.HOLD + timedelta(seconds=1))
    assert leases.hold(name="telegram:commands", consumer="n2", now=now)  # another job, another lease
    later = now + 2 * leases.HOLD + timedelta(seconds=1)  # n1 stopped renewing: it died
    assert leases.hold(name="webhook", consumer="n2", now=later)
    assert not leases.hold(name="webhook", consumer="n1", now=later)


def test_a_channel_sends_through_one_notifier_so_its_order_and_pace_hold() -> None:
    pending(4)
    first = services.claim_due(channel="webhook", consumer="n1", limit=2)
    assert len(first) == 2
    # The two others are free and due, yet n2 leaves them: n1 sends to this channel, in order.
    assert services.claim_due(channel="webhook", consumer="n2", limit=10) == []
    services.mark_sent(ids=[d.pk for d in first])
    assert services.claim_due(channel="webhook", consumer="n2", limit=10) == []  # still n1's channel
    assert len(services.claim_due(channel="webhook", consumer="n1", limit=10)) == 2


def test_a_stopping_notifier_hands_its_jobs_over_at_once() -> None:
    pending(1)
    assert services.claim_due(channel="webhook", consumer="n1", limit=10)
    assert leases.hold(name=leases.TELEGRAM, consumer="n1")
    assert leases.let_go(consumer="n1") == 2
    assert leases.hold(name=leases.TELEGRAM, consumer="n2")
    assert services.claim_due(channel="webhook", consumer="n2", limit=10, now=utcnow() + services.LEASE)
