"""One notifier at a time sends to a channel and answers Telegram; another takes over when it is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot_api.models import utcnow
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify import leases, services
from crypto_bot_ui.notify.channels import SEND_TIMEOUT
from crypto_bot_ui.notify.models import Delivery, Notification
from crypto_bot_ui.notify.notifier import _hand_over

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def pending(count: int) -> None:
    for n in range(count):
        made = Notification.objects.create(bot_id="main", key=f"k{n}", kind="trade", title=f"t{n}", text="x",
                                           occurred_at=utcnow())
        Delivery.objects.create(notification=made, channel="webhook", due_at=utcnow())


def titles(claimed: list[Delivery]) -> list[str]:
    return [d.notification.title for d in claimed]


def test_a_lease_is_held_renewed_and_taken_over_only_once_it_lapses() -> None:
    now = utcnow()
    assert leases.hold(name="webhook", consumer="n1", now=now) == leases.Held()
    assert leases.hold(name="webhook", consumer="n2", now=now) is None
    assert leases.hold(name="webhook", consumer="n1", now=now + leases.hold_for() - timedelta(seconds=1))  # renewed
    assert leases.hold(name="webhook", consumer="n2", now=now + leases.hold_for() + timedelta(seconds=1)) is None
    assert leases.hold(name="telegram:commands", consumer="n2", now=now)  # another job, another lease
    later = now + 2 * leases.hold_for() + timedelta(seconds=1)  # n1 stopped renewing: it died
    assert leases.hold(name="webhook", consumer="n2", now=later) == leases.Held(taken_from="n1")
    assert leases.hold(name="webhook", consumer="n1", now=later) is None


def test_the_lease_outlives_a_send_and_the_channels_pause(settings: Any) -> None:
    # A live sender renews before each send and pauses NOTIFY_MIN_INTERVAL between two: never lapsed.
    settings.NOTIFY = NotifySettings.read({"NOTIFY_MIN_INTERVAL": "45"})
    assert leases.hold_for().total_seconds() == SEND_TIMEOUT + 45 + leases.SPARE


def test_a_channel_sends_through_one_notifier_so_its_order_and_pace_hold() -> None:
    pending(4)
    first = services.claim_due(channel="webhook", consumer="n1", limit=2)
    assert titles(first) == ["t0", "t1"]
    # The two others are free and due, yet n2 leaves them: n1 sends to this channel, in order.
    assert services.claim_due(channel="webhook", consumer="n2", limit=10) == []
    services.mark_sent(ids=[d.pk for d in first])
    assert services.claim_due(channel="webhook", consumer="n2", limit=10) == []  # still n1's channel
    assert titles(services.claim_due(channel="webhook", consumer="n1", limit=10)) == ["t2", "t3"]


def test_the_notifier_taking_a_dead_ones_channel_sends_what_it_held_first() -> None:
    pending(3)
    held = services.claim_due(channel="webhook", consumer="n1", limit=1)
    services.mark_in_flight(ids=[d.pk for d in held])  # n1 died during the send
    later = utcnow() + leases.hold_for() + timedelta(seconds=1)
    assert later < held[0].leased_until  # the channel lapsed, the delivery's own lease not yet
    taken = services.claim_due(channel="webhook", consumer="n2", limit=10, now=later)
    assert titles(taken) == ["t0", "t1", "t2"]  # in order, not t1 and t2 first
    assert [d.in_flight for d in taken] == [True, False, False]  # the first may have arrived: said so


def test_a_stopping_notifier_hands_its_jobs_and_deliveries_over_at_once() -> None:
    pending(1)
    assert services.claim_due(channel="webhook", consumer="n1", limit=10)
    assert leases.hold(name=leases.TELEGRAM, consumer="n1")
    _hand_over("n1")
    assert leases.hold(name=leases.TELEGRAM, consumer="n2")
    assert titles(services.claim_due(channel="webhook", consumer="n2", limit=10)) == ["t0"]  # now, not in a minute
