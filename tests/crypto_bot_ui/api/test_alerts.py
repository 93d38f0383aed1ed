"""Users' own alerts over REST: made, listed, changed and deleted by their owner only (a viewer too),
refused with a reason when wrong, the level a decimal string both ways, and their firings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import yaml
from django.contrib.auth.models import User
from django.test import Client

from bot_api.keys import RedisKeys
from crypto_bot_ui.notify import alerts as alert_services
from crypto_bot_ui.notify.models import Alert, AlertFiring
from tests.conftest import make_operator
from tests.crypto_bot_ui.api.test_api import a_snapshot
from tests.crypto_bot_ui.api.test_bots import logged_in, register

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PRICE_ALERT = {"bot_id": "main", "kind": "price_above", "symbol": "BTCUSDT", "level": "65000.5"}


@pytest.fixture
def bot(keys: RedisKeys, raw_redis: redis.Redis) -> RedisKeys:
    """The default bot running with its snapshot (symbols BTCUSDT and ETHUSDT), and a second bot `eth`."""
    snapshot = asyncio.run(a_snapshot())
    register(raw_redis, keys, "main", online=True, snapshot=snapshot)
    register(raw_redis, keys, "eth", online=True, snapshot=snapshot)
    return keys


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/alerts", body, content_type="application/json")


def patch(client: Client, alert_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/alerts/{alert_id}", body, content_type="application/json")


def test_the_alert_endpoints_need_a_login(client: Client, keys: RedisKeys) -> None:
    for path in ("/api/alerts", "/api/alerts/1", "/api/alerts/firings"):
        response = client.get(path)
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated", path
    assert post(client, PRICE_ALERT).status_code == 401


def test_a_viewer_makes_lists_changes_and_deletes_their_alerts(viewer: Client, bot: RedisKeys) -> None:
    made = post(viewer, {**PRICE_ALERT, "channels": ["telegram", "page"], "note": "  sell some  "})
    assert made.status_code == 201, made.content
    alert = made.json()
    assert alert == {
        "id": alert["id"], "bot_id": "main", "symbol": "BTCUSDT", "kind": "price_above",
        "level": "65000.5",  # a decimal string, without the column's trailing zeros
        "window_minutes": None, "channels": ["page", "telegram"], "note": "sell some", "enabled": True,
        "created_at": alert["created_at"], "last_fired_at": None}
    move = post(viewer, {"bot_id": "eth", "kind": "price_move", "symbol": "ETHUSDT", "level": "2.5",
                         "window_minutes": 15}).json()
    assert move["channels"] == ["page"]  # the default
    loss = post(viewer, {"bot_id": "main", "kind": "daily_pnl_below", "level": 100}).json()  # a whole number is exact
    assert (loss["level"], loss["symbol"]) == ("100", "")

    assert [a["id"] for a in viewer.get("/api/alerts").json()] == [loss["id"], move["id"], alert["id"]]
    assert [a["id"] for a in viewer.get("/api/alerts?bot=main").json()] == [loss["id"], alert["id"]]
    assert viewer.get(f"/api/alerts/{alert['id']}").json() == alert

    changed = patch(viewer, alert["id"], {"level": "66000", "enabled": False})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["level"], changed.json()["enabled"]) == ("66000", False)
    assert patch(viewer, move["id"], {"kind": "price_below", "level": "1800", "window_minutes": None}).json()[
        "kind"] == "price_below"

    assert viewer.delete(f"/api/alerts/{alert['id']}").status_code == 204
    assert viewer.get(f"/api/alerts/{alert['id']}").status_code == 404
    assert [a["id"] for a in viewer.get("/api/alerts").json()] == [loss["id"], move["id"]]


def test_alerts_are_their_owners_alone(viewer: Client, bot: RedisKeys) -> None:
    theirs = post(viewer, PRICE_ALERT).json()
    other = User.objects.create_user("otto", password="pw-otto-12345")
    admin = User.objects.create_superuser("root", password="pw-root-12345")
    for client in (logged_in(other), logged_in(admin)):  # an admin too: alerts are personal
        assert client.get("/api/alerts").json() == []
        for response in (client.get(f"/api/alerts/{theirs['id']}"), patch(client, theirs["id"], {"enabled": False}),
                         client.delete(f"/api/alerts/{theirs['id']}"),
                         client.get(f"/api/alerts/firings?alert={theirs['id']}")):
            assert response.status_code == 404
            assert response.json() == {"code": "not_found", "message": f"you have no alert {theirs['id']}"}
        mine = post(client, PRICE_ALERT).json()
        assert [a["id"] for a in client.get("/api/alerts").json()] == [mine["id"]]
    assert Alert.objects.get(pk=theirs["id"]).enabled  # untouched
    assert [a["id"] for a in viewer.get("/api/alerts").json()] == [theirs["id"]]


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"kind": "price_sideways"}, "invalid_choice", 'kind: "price_sideways" is not an alert kind: use one of '
                                                   "price_above, price_below, price_move, daily_pnl_below, drawdown"),
    ({"level": "-1"}, "invalid", "The price level must be above 0."),
    ({"level": "abc"}, "invalid", "level: A valid number is required."),
    ({"level": 65000.5}, "not_a_string", 'level: give it as a decimal string such as "65000.5"'),
    ({"level": "1.0000000000001"}, "max_decimal_places", "level: Ensure that there are no more than 12 decimal"),
    ({"level": "NaN"}, "invalid", "level: A valid number is required."),
    ({"kind": "price_move", "level": "150", "window_minutes": 5}, "invalid",
     "The percentage must be above 0 and at most 100."),
    ({"kind": "price_move", "level": "1"}, "invalid", "A price move needs a window of 1 to 1440 minutes."),
    ({"kind": "price_move", "level": "1", "window_minutes": 1441}, "invalid",
     "A price move needs a window of 1 to 1440 minutes."),
    ({"window_minutes": 5}, "invalid", "Only price move alerts take a window."),
    ({"symbol": "SOLUSDT"}, "unknown_symbol", "SOLUSDT is not a symbol of this bot; it has: BTCUSDT, ETHUSDT."),
    ({"symbol": ""}, "unknown_symbol", "A price alert needs a symbol: one of BTCUSDT, ETHUSDT."),
    ({"kind": "drawdown", "level": "5"}, "invalid", "Only price alerts take a symbol."),
    ({"channels": ["page", "sms"]}, "invalid", "channels: 'sms' is not a channel: choose some of page, telegram, "
                                               "apprise, webhook"),
    ({"channels": []}, "invalid", "Choose at least one channel: page, telegram, apprise, webhook."),
    ({"note": "x" * 201}, "max_length", "note: Ensure this field has no more than 200 characters."),
    ({"bot_id": "no such bot"}, "invalid", "bot_id: This value does not match the required pattern."),
    ({"bot_id": "ghost"}, "unknown_bot", "There is no bot ghost: no bot of that id is registered."),
    ({"colour": "red"}, "unknown_field", "unknown field colour (this endpoint takes: bot_id, channels, enabled, "),
])
def test_a_wrong_alert_is_refused_with_a_reason(
    viewer: Client, bot: RedisKeys, body: dict[str, Any], code: str, message: str
) -> None:
    response = post(viewer, {**PRICE_ALERT, **body})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["message"].startswith(message), response.json()["message"]
    assert not Alert.objects.exists()


def test_a_change_is_checked_as_a_whole_and_refused_with_a_reason(viewer: Client, bot: RedisKeys) -> None:
    alert = post(viewer, PRICE_ALERT).json()
    for body, code, message in [
        ({"kind": "price_move", "level": "1"}, "invalid", "A price move needs a window of 1 to 1440 minutes."),
        ({"kind": "price_move", "window_minutes": 5}, "invalid", "The percentage must be above 0 and at most 100."),
        ({"kind": "daily_pnl_below"}, "invalid", "Only price alerts take a symbol."),
        ({"symbol": "DOGEUSDT"}, "unknown_symbol", "DOGEUSDT is not a symbol of this bot"),
        ({"bot_id": "eth"}, "unknown_field", "unknown field bot_id (this endpoint takes: channels, enabled, kind, "),
        ({"level": 1.5}, "not_a_string", "level: give it as a decimal string"),
    ]:
        response = patch(viewer, alert["id"], body)
        assert response.status_code == 400, body
        assert (response.json()["code"], response.json()["message"][:len(message)]) == (code, message), body
    assert viewer.get(f"/api/alerts/{alert['id']}").json() == alert  # nothing changed
    # Several fields at once make a valid alert of another kind.
    response = patch(viewer, alert["id"], {"kind": "drawdown", "symbol": "", "level": "7.5"})
    assert response.status_code == 200 and response.json()["kind"] == "drawdown"


def test_an_unknown_bot_in_the_query_is_a_404_as_everywhere(viewer: Client, bot: RedisKeys) -> None:
    for path in ("/api/alerts?bot=ghost", "/api/alerts/firings?bot=ghost"):
        response = viewer.get(path)
        assert response.status_code == 404 and response.json()["code"] == "unknown_bot", path
    assert viewer.get("/api/alerts?bot=a%20b").status_code == 400
    assert viewer.get("/api/alerts?symbol=BTCUSDT").json()["code"] == "unknown_parameter"


def test_a_price_alert_waits_for_the_bots_symbols(viewer: Client, keys: RedisKeys) -> None:
    """The default bot, before its first snapshot: its symbols are not known yet (503, retry)."""
    response = post(viewer, PRICE_ALERT)
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    # An alert on the account needs no symbol.
    assert post(viewer, {"bot_id": "main", "kind": "drawdown", "level": "10"}).status_code == 201


def test_editing_the_rule_starts_it_afresh_switching_it_off_does_not(viewer: Client, bot: RedisKeys) -> None:
    alert_id = post(viewer, PRICE_ALERT).json()["id"]
    remembered = {"armed": False, "last_ms": 1_700_000_000_000, "peak": None, "buckets": []}

    def state_after(body: dict[str, Any]) -> dict[str, Any]:
        Alert.objects.filter(pk=alert_id).update(state=remembered)
        assert patch(viewer, alert_id, body).status_code == 200, body
        return dict(Alert.objects.get(pk=alert_id).state)

    assert state_after({"enabled": False}) == remembered
    assert state_after({"enabled": True, "note": "n", "channels": ["page", "telegram"]}) == remembered
    assert state_after({"level": "65000.50"}) == remembered  # the same number: the same rule
    assert state_after({"level": "64000"}) == {}
    assert state_after({"symbol": "ETHUSDT"}) == {}
    assert state_after({"kind": "price_below"}) == {}
    assert state_after({"kind": "price_move", "window_minutes": 5, "level": "1"}) == {}
    assert state_after({"window_minutes": 6}) == {}


def test_only_an_operator_of_the_bot_sends_alerts_to_the_shared_channels(viewer: Client, bot: RedisKeys) -> None:
    shared = {**PRICE_ALERT, "channels": ["page", "webhook"]}
    refused = post(viewer, shared)
    assert refused.status_code == 400
    assert "Only operators of bot main may send alerts to the shared channels (webhook)" in refused.json()["message"]
    alert_id = post(viewer, PRICE_ALERT).json()["id"]
    assert patch(viewer, alert_id, {"channels": ["apprise"]}).status_code == 400
    make_operator(User.objects.get(username=viewer_name(viewer)))
    assert post(viewer, shared).status_code == 201


def viewer_name(client: Client) -> str:
    return str(client.get("/api/alerts").wsgi_request.user.get_username())


def test_firings_newest_first_of_one_alert_or_one_bot(viewer: Client, bot: RedisKeys) -> None:
    btc = post(viewer, PRICE_ALERT).json()
    eth = post(viewer, {"bot_id": "eth", "kind": "price_below", "symbol": "ETHUSDT", "level": "3000"}).json()
    stranger = User.objects.create_user("otto", password="pw-otto-12345")
    theirs = Alert.objects.create(owner=stranger, bot_id="main", kind="price_above", symbol="BTCUSDT",
                                  level=Decimal(1), channels=["page"])
    for n, alert_id in enumerate([btc["id"], eth["id"], btc["id"], theirs.pk]):
        AlertFiring.objects.create(alert_id=alert_id, fired_at=T0 + timedelta(minutes=n), seq=n + 10,
                                   value=Decimal("65000.120000"), text=f"firing {n}")
    every = viewer.get("/api/alerts/firings").json()
    assert [f["text"] for f in every] == ["firing 2", "firing 1", "firing 0"]  # nobody else's
    assert every[0] == {"id": every[0]["id"], "alert_id": btc["id"], "bot_id": "main", "symbol": "BTCUSDT",
                        "kind": "price_above", "fired_at": "2026-11-20T12:02:00Z", "value": "65000.12", "seq": 12,
                        "text": "firing 2"}
    assert [f["text"] for f in viewer.get(f"/api/alerts/firings?alert={eth['id']}").json()] == ["firing 1"]
    assert [f["text"] for f in viewer.get("/api/alerts/firings?bot=main&limit=1").json()] == ["firing 2"]
    assert viewer.get("/api/alerts/firings?limit=201").json()["code"] == "max_value"
    assert viewer.get(f"/api/alerts/{btc['id']}").json()["last_fired_at"] == "2026-11-20T12:02:00Z"


def test_an_account_has_at_most_so_many_alerts(
    viewer: Client, bot: RedisKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alert_services, "MAX_ALERTS_PER_USER", 2)
    assert post(viewer, PRICE_ALERT).status_code == 201
    assert post(viewer, {**PRICE_ALERT, "bot_id": "eth"}).status_code == 201
    response = post(viewer, PRICE_ALERT)
    assert response.status_code == 400
    assert response.json() == {"code": "too_many_alerts", "message": (
        "You have 2 alerts, the most one account may have: delete one you no longer need first.")}


def test_changes_need_the_csrf_token_as_every_post(bot: RedisKeys) -> None:
    user = User.objects.create_user("vera", password="pw-vera-12345")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    refused = post(client, PRICE_ALERT)
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    client.get("/bots/main/")  # the page sets the CSRF cookie (its forms carry the token)
    token = client.cookies["csrftoken"].value
    made = client.post("/api/alerts", PRICE_ALERT, content_type="application/json", headers={"X-CSRFToken": token})
    assert made.status_code == 201, made.content


def test_the_schema_lists_the_alert_endpoints(viewer: Client, keys: RedisKeys) -> None:
    schema = yaml.safe_load(viewer.get("/api/schema/").content)
    paths = schema["paths"]
    assert set(paths["/api/alerts"]) == {"get", "post"}
    assert set(paths["/api/alerts/{alert_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/alerts/firings"]) == {"get"}
    schemas = schema["components"]["schemas"]
    for name in ("Alert", "AlertInput", "AlertFiring"):
        assert schemas[name]["properties"]["level" if name != "AlertFiring" else "value"]["type"] == "string", name
    assert set(schemas["AlertInput"]["required"]) == {"bot_id", "kind", "level"}
    assert schemas["KindEnum"]["enum"] == ["price_above", "price_below", "price_move", "daily_pnl_below", "drawdown"]
    assert paths["/api/alerts"]["post"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert set(paths["/api/alerts"]["post"]["requestBody"]["content"]) == {"application/json"}
