"""The trade history page (/trades/): for logged-in users only; it lists the bots (registered or with
records) and traded symbols for its filters, and says whose notes the user may write: every bot's for
holders of the note permission (Operators), one bot's for that bot's own operators, none for viewers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.test import Client

from bot_api.keys import RedisKeys
from bot_api.models import CENT_ASSETS
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.trades.models import NOTE_MAX_CHARS, Bot, Trade
from tests.conftest import make_operator

pytestmark = [pytest.mark.db, pytest.mark.django_db]


@pytest.fixture
def records(keys: RedisKeys, raw_redis: redis.Redis) -> None:
    """Bots: `main` and `eth` with trades, `idle` only in the records, `fresh` only in the registry."""
    for n, (bot, symbol) in enumerate([("main", "BTCUSDT"), ("main", "ETHUSDT"), ("eth", "ETHUSDT")]):
        Trade.objects.create(bot_id=bot, trade_id=f"t{n}", symbol=symbol, side="buy", qty=Decimal(1),
                             price=Decimal(10), quote_qty=Decimal(10), fee=Decimal(0), fee_asset="USDT",
                             realized_pnl=Decimal(0), executed_at=datetime(2026, 11, 20, 12, n, tzinfo=UTC))
    Bot.objects.create(bot_id="idle")
    raw_redis.zadd(keys.bots_registry, {"fresh": int(time.time() * 1000)})


def logged_in(username: str, *, operator: bool = False, operates: tuple[str, ...] = ()) -> Client:
    user = User.objects.create_user(username, password=f"pw-{username}-12345")
    if operator:
        make_operator(user)
    for bot_id in operates:
        Bot.objects.get_or_create(bot_id=bot_id)[0].operators.add(user)
    client = Client()
    client.force_login(user)
    return client


def page_config(client: Client) -> tuple[Any, dict[str, Any]]:
    response = client.get("/trades/")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<script id="journal-config" type="application/json">') + len(
        '<script id="journal-config" type="application/json">')
    return response, json.loads(html[start:html.index("</script>", start)])


def test_the_page_needs_a_login(client: Client, keys: RedisKeys) -> None:
    response = client.get("/trades/?side=sell")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/trades/%3Fside%3Dsell"


def test_a_viewer_sees_every_bot_and_symbol_and_writes_no_note(records: None) -> None:
    response, config = page_config(logged_in("vera"))
    assert config == {"bots": ["eth", "fresh", "idle", "main"], "symbols": ["BTCUSDT", "ETHUSDT"], "can_note": False,
                      "note_all": False, "note_bots": [], "note_max": NOTE_MAX_CHARS,
                      "cent_assets": sorted(CENT_ASSETS)}  # shown in cents, as the bots' pages show them
    html = response.content.decode()
    assert 'data-role="none"' in html and "notes: read-only" in html
    for bot in config["bots"]:
        assert f'<option value="{bot}">{bot}</option>' in html  # the filter's choices, without a script
    assert '<option value="ETHUSDT">ETHUSDT</option>' in html
    assert 'href="/api/trades.csv"' in html
    assert 'aria-current="page">Trades</a>' in html  # the top bar marks the page
    assert "no-cache" in response["Cache-Control"]


def test_an_operator_writes_every_bots_notes(records: None) -> None:
    response, config = page_config(logged_in("olga", operator=True))
    every = ["eth", "fresh", "idle", "main"]
    assert (config["can_note"], config["note_all"], config["note_bots"]) == (True, True, every)
    assert 'data-role="all"' in response.content.decode()


def test_the_note_permission_alone_is_enough_and_a_superuser_has_it(records: None) -> None:
    user = User.objects.create_user("nina")
    user.user_permissions.add(Permission.objects.get(codename="change_trade_note", content_type__app_label="trades"))
    client = Client()
    client.force_login(user)
    assert page_config(client)[1]["note_all"] is True
    root = Client()
    root.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    assert page_config(root)[1]["note_all"] is True


def test_a_bots_own_operator_writes_that_bots_notes_only(records: None) -> None:
    response, config = page_config(logged_in("pete", operates=("eth",)))
    assert (config["can_note"], config["note_all"], config["note_bots"]) == (True, False, ["eth"])
    html = response.content.decode()
    assert 'data-role="some"' in html and "notes: you may write on eth" in html


def test_a_deactivated_operator_is_logged_out(records: None) -> None:
    client = logged_in("olaf", operator=True)
    User.objects.filter(username="olaf").update(is_active=False)
    assert client.get("/trades/").status_code == 302


def test_the_page_is_served_without_redis(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing answers there: the registry is skipped
    settings.REDIS_PREFIX = "nowhere"
    Trade.objects.create(bot_id="main", trade_id="t1", symbol="BTCUSDT", side="buy", qty=Decimal(1), price=Decimal(10),
                         quote_qty=Decimal(10), fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(0),
                         executed_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    try:
        _, config = page_config(logged_in("vera"))
    finally:
        bot_link._sync_client.cache_clear()
    assert config["bots"] == ["main"]
