"""The notifications' admin: everyone's alerts (switched off or deleted here, through the services,
nothing else editable), their firings, the notifications with their deliveries and the deliveries
themselves read-only, and Telegram links."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crypto_bot_ui.notify import leases
from crypto_bot_ui.notify.models import Alert, AlertFiring, Delivery, Notification, TelegramLink

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    return client


@pytest.fixture
def alert() -> Alert:
    owner = User.objects.create_user("vera", password="pw-vera-12345")
    made = Alert.objects.create(owner=owner, bot_id="main", kind="price_above", symbol="BTCUSDT",
                                level=Decimal("65000.5"), channels=["page"], state={"armed": False})
    AlertFiring.objects.create(alert=made, fired_at=T0, value=Decimal("65012.3"), seq=9,
                               text="main BTCUSDT: crossed above 65,000.5 at 65,012.3")
    note = Notification.objects.create(bot_id="main", key="seq:9", kind="alert", seq=9, title="Alert: main BTCUSDT",
                                       text="crossed", occurred_at=T0)
    Delivery.objects.create(notification=note, channel="webhook", due_at=T0, last_error="HTTP 502")
    TelegramLink.objects.create(user=owner, telegram_user_id=4242, chat_id=4242)
    return made


def test_every_list_shows(admin_client: Client, alert: Alert) -> None:
    leases.hold(name="webhook", consumer="box-1-notifier")
    for path, shown in [("lease/", "box-1-notifier"), ("alert/", "65000.5"), ("alertfiring/", "crossed above 65,000.5"),
                        ("notification/", "Alert: main BTCUSDT"), ("delivery/", "HTTP 502"), ("telegramlink/", "4242"),
                        ("alert/?enabled__exact=1&kind=price_above", "vera"), ("delivery/?channel=webhook", "502")]:
        response = admin_client.get("/admin/notify/" + path)
        assert response.status_code == 200, path
        assert shown in response.content.decode(), path
    note = admin_client.get(f"/admin/notify/notification/{Notification.objects.get().pk}/change/").content.decode()
    assert "webhook" in note and "HTTP 502" in note  # its deliveries inline


def test_records_are_read_only_and_alerts_are_made_by_their_owners(admin_client: Client, alert: Alert) -> None:
    for path in ("alert/add/", "alertfiring/add/", "notification/add/", "delivery/add/", "lease/add/"):
        assert admin_client.get("/admin/notify/" + path).status_code == 403, path
    firing = AlertFiring.objects.get()
    assert admin_client.post(f"/admin/notify/alertfiring/{firing.pk}/change/", {}).status_code == 403
    assert admin_client.post(f"/admin/notify/alertfiring/{firing.pk}/delete/", {"post": "yes"}).status_code == 403


def test_an_admin_switches_an_alert_off_and_nothing_else(admin_client: Client, alert: Alert) -> None:
    response = admin_client.post(f"/admin/notify/alert/{alert.pk}/change/", {
        "enabled": "", "level": "1", "kind": "drawdown", "_save": "Save"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.enabled, alert.level, alert.kind, alert.state) == (False, Decimal("65000.5"), "price_above",
                                                                   {"armed": False})  # its memory kept
    admin_client.post("/admin/notify/alert/", {"action": "switch_on", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.enabled
    admin_client.post("/admin/notify/alert/", {"action": "delete_selected", "_selected_action": [alert.pk],
                                               "post": "yes"})
    assert not Alert.objects.exists() and not AlertFiring.objects.exists()


def test_an_admin_links_a_telegram_account_to_a_user(admin_client: Client) -> None:
    olga = User.objects.create_user("olga", password="pw-olga-12345")
    response = admin_client.post("/admin/notify/telegramlink/add/", {
        "user": olga.pk, "telegram_user_id": "987654321", "chat_id": "", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    link = TelegramLink.objects.get()
    assert (link.user, link.telegram_user_id, link.chat_id) == (olga, 987654321, None)
    page = admin_client.get(f"/admin/notify/telegramlink/{link.pk}/change/").content.decode()
    assert 'name="telegram_user_id"' not in page  # set once: unlink and link again to change it
