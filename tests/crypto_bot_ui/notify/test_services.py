"""The notifier's records: presence, exchange health and daily summaries told once each; deliveries
claimed in order, put off, and leased to one notifier at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot_api.events import BotState, ExchangeData, StatusChangeData, StatusChangeEvent, StatusEvent
from bot_api.models import utcnow
from crypto_bot_ui.notify import leases, services
from crypto_bot_ui.notify.models import Delivery, DeliveryState, Notification
from crypto_bot_ui.notify.routing import Routes
from tests.frames import status_at

pytestmark = [pytest.mark.db, pytest.mark.django_db]

ROUTES = Routes(webhook_kinds=frozenset({"trade", "state", "exchange", "silent", "daily", "alert"}))


def with_exchange(seq: int, *, offline: bool) -> StatusEvent:
    event = status_at(seq)
    data = event.data.model_copy(update={"exchange": ExchangeData(
        source="rest", breaker="open" if offline else "closed", offline=offline,
        detail="timeouts" if offline else None)})
    return event.model_copy(update={"data": data})


def titles() -> list[str]:
    return list(Notification.objects.order_by("id").values_list("title", flat=True))


def test_a_bot_going_silent_and_coming_back_is_told_once_each_never_on_first_sight() -> None:
    for online in (True, True, False, False, True):
        services.note_presence(bot_id="main", online=online, routes=ROUTES, public_url="http://x")
    assert titles() == ["main is silent", "main is back"]


def test_the_exchange_going_offline_and_back_is_told_from_the_statuses() -> None:
    events = [with_exchange(1, offline=False), with_exchange(2, offline=True), with_exchange(3, offline=True)]
    services.take_events(bot_id="main", events=events, routes=ROUTES, public_url="http://x")
    services.take_events(bot_id="main", events=[with_exchange(4, offline=False)], routes=ROUTES, public_url="http://x")
    assert titles() == ["main: exchange offline", "main: exchange back online"]
    assert "timeouts" in Notification.objects.get(seq=2).text


def test_stopped_by_a_person_and_halted_by_the_bot_are_told_apart() -> None:
    events = [StatusChangeEvent(seq=1, data=StatusChangeData(state=BotState.STOPPED, previous=BotState.RUNNING,
                                                              reason="stopped by ada")),
              StatusChangeEvent(seq=2, data=StatusChangeData(state=BotState.RUNNING, previous=BotState.STOPPED,
                                                              reason="started by ada")),
              StatusChangeEvent(seq=3, data=StatusChangeData(state=BotState.STOPPED, previous=BotState.RUNNING,
                                                              reason="daily loss limit reached: -51.20"))]
    services.take_events(bot_id="main", events=events, routes=ROUTES, public_url="http://x")
    assert titles() == ["main stopped", "main started", "main halted"]
    assert Notification.objects.get(seq=3).text == "Bot main halted: daily loss limit reached: -51.20"


def test_the_daily_summary_is_made_once_per_bot_and_day() -> None:
    for _ in range(2):
        services.note_daily(bot_id="main", status=status_at(7), day="2026-12-01", routes=ROUTES, public_url="http://x")
    services.note_daily(bot_id="main", status=status_at(9), day="2026-12-02", routes=ROUTES, public_url="http://x")
    assert titles() == ["main: daily summary 2026-12-01", "main: daily summary 2026-12-02"]
    assert "Total P&L: 0.00 USDT" in Notification.objects.first().text  # type: ignore[union-attr]


def _pending(count: int) -> list[Delivery]:
    services.take_events(bot_id="main", events=[with_exchange(1, offline=False)], routes=ROUTES, public_url="x")
    for seq in range(2, 2 + count):
        services.take_events(bot_id="main", events=[with_exchange(seq, offline=seq % 2 == 0)], routes=ROUTES,
                             public_url="x")
    return list(Delivery.objects.order_by("notification_id"))


def test_a_delivery_put_off_holds_up_the_later_ones_of_its_channel() -> None:
    first, *_ = _pending(3)
    claimed = services.claim_due(channel="webhook", consumer="n1", limit=10)
    assert [d.pk for d in claimed] == [d.pk for d in Delivery.objects.order_by("notification_id")]
    services.put_off(deliveries=claimed[:1], error="503", until=utcnow() + timedelta(minutes=1))
    services.release(ids=[d.pk for d in claimed[1:]])
    assert services.claim_due(channel="webhook", consumer="n1", limit=10) == []  # the head is not due yet
    assert services.claim_due(channel="webhook", consumer="n1", limit=10,
                              now=utcnow() + timedelta(minutes=2))[0].pk == first.pk


def test_a_lease_keeps_other_notifiers_off_until_it_lapses() -> None:
    _pending(2)
    assert len(services.claim_due(channel="webhook", consumer="n1", limit=10)) == 2
    assert services.claim_due(channel="webhook", consumer="n2", limit=10) == []
    later = utcnow() + leases.hold_for() + timedelta(seconds=1)  # n1 died: its channel and its deliveries are n2's
    assert len(services.claim_due(channel="webhook", consumer="n2", limit=10, now=later)) == 2


def test_a_send_of_unknown_outcome_is_marked_and_a_sent_one_is_done() -> None:
    deliveries = _pending(2)
    services.mark_in_flight(ids=[deliveries[0].pk])
    assert services.release_leases(consumer="n1") == 0  # not leased by n1: untouched
    again = services.claim_due(channel="webhook", consumer="n1", limit=10)
    assert [d.in_flight for d in again] == [True, False]
    services.mark_sent(ids=[d.pk for d in again])
    assert set(Delivery.objects.values_list("state", "in_flight")) == {(DeliveryState.SENT, False)}


def test_a_delivery_failing_for_a_day_expires_and_is_kept() -> None:
    deliveries = _pending(1)
    Notification.objects.update(created_at=utcnow() - services.EXPIRY - timedelta(minutes=1))
    claimed = services.claim_due(channel="webhook", consumer="n1", limit=10)
    assert services.put_off(deliveries=claimed, error="gone", until=utcnow()) == len(deliveries)
    assert set(Delivery.objects.values_list("state", "last_error")) == {(DeliveryState.EXPIRED, "gone")}


def test_tidy_gives_up_unconfigured_channels_and_drops_what_is_old() -> None:
    _pending(2)
    Delivery.objects.filter(pk=Delivery.objects.order_by("id").first().pk).update(channel="telegram:9")  # type: ignore[union-attr]
    assert services.tidy(channels=["webhook"]) == (1, 0)
    services.mark_sent(ids=list(Delivery.objects.filter(state=DeliveryState.PENDING).values_list("id", flat=True)))
    later = utcnow() + services.RETENTION + timedelta(days=1)
    expired, pruned = services.tidy(channels=["webhook"], now=later)
    assert expired == 0 and pruned >= 2 and not Notification.objects.exists()
