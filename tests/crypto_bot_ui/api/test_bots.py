"""Several bots over the REST API: `/api/bots`, and `bot=` on every endpoint about one bot (a
malformed id is a 400, one nobody knows of a 404 `unknown_bot`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client

from bot_api.candles import Candle, CandlesData
from bot_api.events import StatusEvent, parse_event
from bot_api.keys import RedisKeys
from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import Bot, EquitySnapshot
from tests.conftest import make_operator
from tests.crypto_bot_ui.api.test_api import a_snapshot, make_trade

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def register(raw: redis.Redis, keys: RedisKeys, bot_id: str, *, online: bool,
             snapshot: StatusEvent | None = None) -> None:
    """What a running bot leaves in Redis: its place in the registry, its heartbeat, its snapshot."""
    raw.zadd(keys.bots_registry, {bot_id: int(time.time() * 1000)})
    bot = keys.for_bot(bot_id)
    if online:
        raw.set(bot.heartbeat_key, "1", px=5000)
    if snapshot is not None:
        raw.set(bot.status_key, snapshot.model_copy(update={"bot": bot_id}).model_dump_json())


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_bots_lists_each_registered_bot_with_its_figures(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis
) -> None:
    assert viewer.get("/api/bots").json() == []  # nothing registered yet
    snapshot = asyncio.run(a_snapshot())
    register(raw_redis, keys, "main", online=True, snapshot=snapshot)
    register(raw_redis, keys, "b2", online=False)  # registered, never published a status
    body = viewer.get("/api/bots").json()
    assert [b["id"] for b in body] == ["b2", "main"]
    b2, main = body
    data, marks = snapshot.data, snapshot.data.marks
    assert marks is not None and data.stats is not None
    shown = marks.model_dump(mode="json")
    assert shown["equity"] == "10009.00"  # as the bot's page shows it, to the quote asset's cent
    assert main == {
        "id": "main", "state": "running", "online": True, "strategy": "scripted", "symbols": ["BTCUSDT", "ETHUSDT"],
        "mode": data.mode, "market_data": data.market_data,
        # The figures as the bot's own page shows them (its marks), exact decimal strings.
        "pnl": {k: shown[k] for k in ("realized", "unrealized", "total")}, "equity": shown["equity"],
        "trade_count": 1, "win_rate": None,
        "max_drawdown": plain(data.stats.max_drawdown), "last_seen": main["last_seen"], "can_control": False,
        # The rest of the overview's line: one model for both.
        "reason": data.reason, "quote_asset": "USDT", "decimals": 2,
        "max_drawdown_pct": plain(data.stats.max_drawdown_pct), "last_seq": snapshot.seq,
    }
    assert abs(datetime.fromisoformat(main["last_seen"]) - datetime.now(UTC)) < timedelta(seconds=10)
    assert b2 == {"id": "b2", "state": None, "online": False, "strategy": None, "symbols": [], "mode": None,
                  "market_data": None, "pnl": None, "equity": None, "trade_count": 0, "win_rate": None,
                  "max_drawdown": None, "last_seen": b2["last_seen"], "can_control": False, "reason": None,
                  "quote_asset": None, "decimals": 2, "max_drawdown_pct": None, "last_seq": None}


def test_can_control_says_which_bots_the_user_may_steer(keys: RedisKeys, raw_redis: redis.Redis) -> None:
    for bot_id in ("a", "b", "main"):
        register(raw_redis, keys, bot_id, online=True)
    only_a = User.objects.create_user("ann", password="pw-ann-123456")
    Bot.objects.create(bot_id="a").operators.add(only_a)
    everyone = User.objects.create_user("otto", password="pw-otto-12345")
    make_operator(everyone)
    root = User.objects.create_superuser("root", password="pw-root-12345")

    def controls(user: User) -> dict[str, bool]:
        return {b["id"]: b["can_control"] for b in logged_in(user).get("/api/bots").json()}

    assert controls(only_a) == {"a": True, "b": False, "main": False}
    assert controls(everyone) == controls(root) == {"a": True, "b": True, "main": True}
    only_a.is_active = False
    only_a.save()
    Bot.objects.get(bot_id="a").operators.add(everyone)  # a grant on top of the global right changes nothing
    assert controls(everyone) == {"a": True, "b": True, "main": True}


def test_without_redis_the_bot_list_is_unavailable(viewer: Client, keys: RedisKeys, settings: object) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # type: ignore[attr-defined]  # nothing listens there
    response = viewer.get("/api/bots")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert viewer.get("/api/dashboard?bot=ghost").status_code == 503  # cannot tell: the snapshot is away anyway
    # The database's endpoints answer from the records: a bot the registry would know finds no rows.
    assert viewer.get("/api/trades?bot=ghost").json()["count"] == 0
    assert viewer.get("/api/equity?bot=ghost").json() == []


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/positions", "/api/candles?symbol=BTCUSDT", "/api/trades",
                                  "/api/trades.csv", "/api/equity"])
def test_a_bot_nobody_knows_is_a_404_and_a_malformed_id_a_400(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis, path: str
) -> None:
    register(raw_redis, keys, "main", online=True, snapshot=asyncio.run(a_snapshot()))
    join = "&" if "?" in path else "?"
    for bad in ("a%20b", "x" * 33, "%C3%A9t%C3%A9", "", "a/b"):
        response = viewer.get(f"{path}{join}bot={bad}")
        assert response.status_code == 400, (path, bad)
        assert response.json()["code"] in {"invalid", "max_length", "blank"}, (path, bad)
        assert response.json()["message"].startswith("bot: "), (path, bad)
    unknown = viewer.get(f"{path}{join}bot=ghost")
    assert unknown.status_code == 404, path
    assert unknown.json() == {"code": "unknown_bot",
                              "message": "there is no bot 'ghost': no bot of that id is registered or has records"}
    assert viewer.get(f"{path}{join}bot=main").status_code == 200, path  # the default bot, named


def test_each_endpoint_serves_the_bot_named(viewer: Client, keys: RedisKeys, raw_redis: redis.Redis) -> None:
    snapshot = asyncio.run(a_snapshot())
    register(raw_redis, keys, "main", online=True, snapshot=snapshot)
    register(raw_redis, keys, "b2", online=True)
    assert viewer.get("/api/dashboard?bot=b2").status_code == 503  # registered, no snapshot yet
    raw_redis.set(keys.for_bot("b2").status_key, snapshot.model_copy(update={"bot": "b2", "seq": 7})
                  .model_dump_json())
    assert parse_event(json.dumps(viewer.get("/api/dashboard?bot=b2").json())).bot == "b2"
    assert viewer.get("/api/dashboard").json()["bot"] == "main"  # without `bot`: the default bot
    assert viewer.get("/api/positions?bot=b2").json()["seq"] == 7
    candle = Candle(time=1_700_000_040, open=Decimal(2), high=Decimal(2), low=Decimal(2), close=Decimal(2))
    raw_redis.set(keys.for_bot("b2").candles_key, CandlesData(interval=60, symbols={"BTCUSDT": [candle]})
                  .model_dump_json())
    assert len(viewer.get("/api/candles?symbol=BTCUSDT&bot=b2").json()["candles"]) == 1
    assert viewer.get("/api/candles?symbol=BTCUSDT").json()["candles"] == []  # the default bot has none
    for n, bot in enumerate(("main", "b2", "b2")):
        make_trade(n, bot=bot)
        EquitySnapshot.objects.create(
            bot_id=bot, seq=n, taken_at=T0 + timedelta(seconds=n), equity=Decimal(100 + n), cash=Decimal(0),
            realized_pnl=Decimal(0), unrealized_pnl=Decimal(0), total_pnl=Decimal(0))
    every = viewer.get("/api/trades").json()["results"]  # without `bot`: every bot's trades, each naming its bot
    assert [(t["trade_id"], t["bot_id"]) for t in every] == [("t2", "b2"), ("t1", "b2"), ("t0", "main")]
    assert [t["trade_id"] for t in viewer.get("/api/trades?bot=b2").json()["results"]] == ["t2", "t1"]
    assert [p["equity"] for p in viewer.get("/api/equity?bot=b2").json()] == ["101", "102"]
    assert [p["equity"] for p in viewer.get("/api/equity").json()] == ["100"]


@pytest.mark.django_db(transaction=True)  # the CSV streams from another thread: rows must be committed
def test_the_csv_export_filters_by_bot(viewer: Client, keys: RedisKeys) -> None:
    from tests.crypto_bot_ui.api.test_api import collect

    for n, bot in enumerate(("main", "b2", "b2")):
        make_trade(n, bot=bot)
    rows = [line.split(",") for line in asyncio.run(collect(viewer.get("/api/trades.csv?bot=b2"))).decode()
            .splitlines()]
    assert [(r[1], r[14]) for r in rows[1:]] == [("t2", "b2"), ("t1", "b2")]  # 14: bot_id
    everyone = asyncio.run(collect(viewer.get("/api/trades.csv"))).decode().splitlines()
    assert len(everyone) == 4


def test_a_bot_known_only_from_its_records_can_be_named(viewer: Client, keys: RedisKeys) -> None:
    """A retired bot (no longer listed) keeps its history queryable."""
    make_trade(1, bot="old")
    assert [t["trade_id"] for t in viewer.get("/api/trades?bot=old").json()["results"]] == ["t1"]
    assert viewer.get("/api/equity?bot=old").json() == []
    Bot.objects.create(bot_id="granted")  # added in the admin before it ever ran
    assert viewer.get("/api/equity?bot=granted").status_code == 200
    assert viewer.get("/api/dashboard?bot=old").status_code == 503  # known, but it has no snapshot
