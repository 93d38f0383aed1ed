"""The bots in the database: noted from the registry, retired from the list in the admin (never an
online one), their own operators, the id the database accepts, and the rows migration 0010 made."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import Bot, Trade
from crypto_bot_ui.trades.services import note_bots, retire_bots

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def register(raw_redis: redis.Redis, keys: RedisKeys, bot_id: str, *, online: bool) -> None:
    raw_redis.zadd(keys.bots_registry, {bot_id: int(time.time() * 1000)})
    if online:
        raw_redis.set(keys.for_bot(bot_id).heartbeat_key, "1", px=5000)


def test_note_bots_adds_the_new_and_brings_back_the_retired() -> None:
    Bot.objects.create(bot_id="old", retired_at=T0)
    Bot.objects.create(bot_id="gone", retired_at=T0)
    assert note_bots(bot_ids=["old", "new", "new"]) == 1
    assert {b.bot_id: b.retired_at for b in Bot.objects.all()} == {"gone": T0, "new": None, "old": None}
    assert note_bots(bot_ids=[]) == 0


@pytest.mark.parametrize("bad", ["", "a b", "x" * 33, "é", "a:b", "a*"])
def test_the_database_refuses_an_id_that_is_no_bot_id(bad: str) -> None:
    with pytest.raises(ValidationError):
        Bot(bot_id=bad).full_clean()
    if len(bad) <= 32 or connection.vendor == "sqlite":  # PostgreSQL refuses the length itself
        with pytest.raises(IntegrityError), transaction.atomic():
            Bot.objects.create(bot_id=bad)
    assert not Bot.objects.exists()


def test_retire_bots_refuses_an_online_bot(keys: RedisKeys, raw_redis: redis.Redis) -> None:
    register(raw_redis, keys, "up", online=True)
    register(raw_redis, keys, "down", online=False)
    Bot.objects.bulk_create([Bot(bot_id="up"), Bot(bot_id="down")])
    results = {r.bot_id: r for r in retire_bots(bot_ids=["up", "down"])}
    assert results["down"].retired and not results["up"].retired
    assert "stop its process first" in results["up"].message
    assert Bot.objects.get(bot_id="down").retired_at is not None and Bot.objects.get(bot_id="up").retired_at is None
    assert [m.decode() for m in raw_redis.zrange(keys.bots_registry, 0, -1)] == ["up"]


def test_retire_bots_without_redis_changes_nothing(keys: RedisKeys, settings: object) -> None:
    Bot.objects.create(bot_id="down")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # type: ignore[attr-defined]
    [result] = retire_bots(bot_ids=["down"])
    assert not result.retired and "Redis" in result.message
    assert Bot.objects.get().retired_at is None


def test_the_bot_list_in_the_admin(admin_client: Client, keys: RedisKeys, raw_redis: redis.Redis) -> None:
    register(raw_redis, keys, "up", online=True)
    register(raw_redis, keys, "down", online=False)
    note_bots(bot_ids=["up", "down"])
    Bot.objects.create(bot_id="never")  # added by hand, to grant operators before it runs
    Bot.objects.get(bot_id="up").operators.add(User.objects.create_user("ann"), User.objects.create_user("bob"))
    response = admin_client.get("/admin/trades/bot/")
    assert response.status_code == 200
    rows = {bot.bot_id: bot for bot in response.context["cl"].result_list}
    assert list(rows) == ["down", "never", "up"]
    admin = response.context["cl"].model_admin
    assert [admin.online(rows[b]) for b in ("down", "never", "up")] == [False, False, True]
    assert isinstance(admin.last_seen(rows["up"]), datetime) and admin.last_seen(rows["never"]) == "not listed"
    assert [admin.operator_count(rows[b]) for b in ("down", "never", "up")] == [0, 0, 2]
    html = response.content.decode()
    assert "Remove from the bot list (retired)" in html and "not listed" in html
    form = admin_client.get(f"/admin/trades/bot/{rows['up'].pk}/change/")
    assert "operators" in form.context["adminform"].form.fields  # filter_horizontal
    assert "bot_id" not in form.context["adminform"].form.fields  # the id is the bot's identity
    assert admin_client.post(f"/admin/trades/bot/{rows['up'].pk}/delete/", {"post": "yes"}).status_code == 403
    refused = admin_client.post("/admin/trades/bot/add/", {"bot_id": "a b"})
    assert refused.status_code == 200 and "bot_id" in refused.context["adminform"].form.errors
    ann = User.objects.get(username="ann")
    assert admin_client.post("/admin/trades/bot/add/", {"bot_id": "pre", "operators": [ann.pk]}).status_code == 302
    assert list(Bot.objects.get(bot_id="pre").operators.all()) == [ann]


def test_the_admin_without_redis_says_it_does_not_know(admin_client: Client, keys: RedisKeys,
                                                        settings: object) -> None:
    Bot.objects.create(bot_id="b")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # type: ignore[attr-defined]
    response = admin_client.get("/admin/trades/bot/")
    assert response.status_code == 200 and "unknown (Redis does not answer)" in response.content.decode()
    [row] = response.context["cl"].result_list
    assert response.context["cl"].model_admin.online(row) is None


def test_the_retire_action_reports_each_bot(admin_client: Client, keys: RedisKeys, raw_redis: redis.Redis) -> None:
    register(raw_redis, keys, "up", online=True)
    register(raw_redis, keys, "down", online=False)
    note_bots(bot_ids=["up", "down"])
    pks = list(Bot.objects.values_list("pk", flat=True))
    response = admin_client.post("/admin/trades/bot/", {"action": "retire", "_selected_action": pks}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert "down: removed from the bot list" in messages
    assert any(m.startswith("up: not retired, it is online (stop its process first") for m in messages)
    assert Bot.objects.get(bot_id="down").retired_at is not None
    assert Bot.objects.get(bot_id="up").retired_at is None


def test_the_admin_csv_export_keeps_to_the_bot_filter(admin_client: Client) -> None:
    trades = [Trade.objects.create(
        bot_id=bot_id, trade_id=f"trade-{n}", symbol="BTCUSDT", side="buy", qty=Decimal(1), price=Decimal(100),
        quote_qty=Decimal(100), fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(0),
        executed_at=T0 + timedelta(hours=n),
    ) for n, bot_id in enumerate(("main", "b2", "main"))]
    response = admin_client.post("/admin/trades/trade/?bot_id=b2", {
        "action": "export_csv", "select_across": "1", "index": "0",
        "_selected_action": [t.pk for t in trades]})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    bot = rows[0].index("bot_id")
    assert [(r[1], r[bot]) for r in rows[1:]] == [("trade-1", "b2")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_notes_every_bot_that_has_records() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("trades", "0009_trade_fee_quote")])
    try:
        with connection.cursor() as cursor:
            for bot_id, at in (("main", "2026-01-02T00:00:00+00:00"), ("main", "2026-01-01T00:00:00+00:00"),
                               ("b2", "2026-03-01T00:00:00+00:00"), ("no good", "2026-03-01T00:00:00+00:00")):
                cursor.execute(
                    "INSERT INTO trades_trade (bot_id, trade_id, order_id, symbol, side, qty, price, quote_qty, fee,"
                    " fee_asset, realized_pnl, reason, executed_at, recorded_at, note) VALUES (%s, %s, '',"
                    " 'BTCUSDT', 'buy', 1, 1, 1, 0, 'USDT', 0, '', %s, %s, '')", [bot_id, at, at, at])
            cursor.execute(
                "INSERT INTO trades_botcommand (bot_id, command_id, command, symbol, close_positions, username,"
                " issued_at, status, error, detail, refused) VALUES ('cmd-only', 'c1', 'stop', '', %s, '',"
                " '2026-02-01T00:00:00+00:00', 'ok', '', '', %s)", [False, False])
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    first = {b.bot_id: b.first_seen for b in Bot.objects.all()}
    assert first == {"b2": datetime(2026, 3, 1, tzinfo=UTC), "cmd-only": datetime(2026, 2, 1, tzinfo=UTC),
                     "main": datetime(2026, 1, 1, tzinfo=UTC)}
    assert not Bot.objects.filter(retired_at__isnull=False).exists()
