"""Every REST endpoint against the test database and a real Redis: content, filters, pages, CSV, schema."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import yaml
from django.test import Client

from bot_api.candles import Candle, CandlesData
from bot_api.events import Side, StatusEvent, parse_event
from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import EquitySnapshot, Trade
from tests.bot.fakes import ListSink, ScriptedStrategy, engine, tick

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_trade(n: int, *, symbol: str = "BTCUSDT", side: str = "buy", bot: str = "main") -> Trade:
    return Trade.objects.create(
        bot_id=bot, trade_id=f"t{n}", order_id=f"o{n}", seq=n, symbol=symbol, side=side, qty=Decimal("0.5"),
        price=Decimal("100.25"), quote_qty=Decimal("50.125"), fee=Decimal("0.050125"), fee_asset="USDT",
        realized_pnl=Decimal("-1.5") if side == "sell" else Decimal(0), reason=f"r{n}",
        executed_at=T0 + timedelta(minutes=n),
    )


async def a_snapshot() -> StatusEvent:
    """A real engine's snapshot after a buy: what the bot stores in Redis."""
    sink = ListSink()
    eng = engine(ScriptedStrategy([Side.BUY]), sink, ORDER_QUOTE="1000")
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("BTCUSDT", "101"))
    return eng.snapshot()


def test_every_endpoint_but_health_needs_a_login(client: Client, keys: RedisKeys) -> None:
    for path in ("/api/bots", "/api/dashboard", "/api/positions", "/api/candles?symbol=BTCUSDT", "/api/trades",
                 "/api/trades.csv", "/api/equity", "/api/schema/", "/api/trades?symbl=X"):
        response = client.get(path)
        assert response.status_code == 401, path  # no session: a challenge, not a refusal
        assert response["WWW-Authenticate"] == 'Session realm="api"', path
        assert b"not_authenticated" in response.content, path
    assert client.get("/api/health").status_code in (200, 503)


def test_dashboard_and_positions_serve_the_bot_snapshot(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis
) -> None:
    empty = viewer.get("/api/dashboard")
    assert empty.status_code == 503 and empty.json()["code"] == "unavailable"
    snapshot = asyncio.run(a_snapshot())
    raw_redis.set(keys.status_key, snapshot.model_dump_json())
    body = viewer.get("/api/dashboard").json()
    assert parse_event(json.dumps(body)) == snapshot  # the very envelope, round-tripped
    positions = viewer.get("/api/positions").json()
    assert positions["seq"] == snapshot.seq
    assert positions["positions"] == [p.model_dump(mode="json") for p in snapshot.data.positions]
    assert positions["positions"][0]["symbol"] == "BTCUSDT" and positions["positions"][0]["mark_price"] == "101"


def candle_json(time: int) -> dict[str, Any]:
    return {"time": time, "open": "1.5", "high": "2", "low": "1", "close": "1.75"}


def test_candles_to_draw_each_timeframe_from(viewer: Client, keys: RedisKeys, raw_redis: redis.Redis) -> None:
    assert viewer.get("/api/candles?symbol=BTCUSDT").status_code == 503  # no bot yet: its symbols are unknown
    raw_redis.set(keys.status_key, asyncio.run(a_snapshot()).model_dump_json())
    assert viewer.get("/api/candles?symbol=BTCUSDT").json() == {
        "symbol": "BTCUSDT", "timeframe": 60, "interval": None, "candles": []}

    def stored(time: int) -> Candle:
        return Candle(time=time, open=Decimal("1.5"), high=Decimal(2), low=Decimal(1), close=Decimal("1.75"))

    raw_redis.set(keys.candles_key, CandlesData(interval=60, symbols={"BTCUSDT": [stored(1_700_000_040)]})
                  .model_dump_json())
    # No hour book (a CANDLE_INTERVAL that does not divide an hour): every timeframe gets the base candles.
    assert viewer.get("/api/candles?symbol=BTCUSDT&timeframe=86400").json()["interval"] == 60
    raw_redis.set(keys.hour_candles_key, CandlesData(interval=3600, symbols={"BTCUSDT": [stored(1_699_999_200)]})
                  .model_dump_json())
    for timeframe, interval, time in ((60, 60, 1_700_000_040), (300, 60, 1_700_000_040), (900, 60, 1_700_000_040),
                                      (3600, 3600, 1_699_999_200), (14400, 3600, 1_699_999_200),
                                      (86400, 3600, 1_699_999_200)):
        body = viewer.get(f"/api/candles?symbol=BTCUSDT&timeframe={timeframe}").json()
        assert body == {"symbol": "BTCUSDT", "timeframe": timeframe, "interval": interval,
                        "candles": [candle_json(time)]}, timeframe
    assert viewer.get("/api/candles?symbol=ETHUSDT&timeframe=3600").json()["candles"] == []  # traded, no candle yet


@pytest.mark.parametrize(("query", "code", "message"), [
    ("symbol=SOLUSDT", "unknown_symbol", "symbol: SOLUSDT is not a symbol of this bot; it has: BTCUSDT, ETHUSDT"),
    ("symbol=BTCUSDT&timeframe=120", "invalid_choice", 'timeframe: "120" is not a valid choice.'),
    ("symbol=BTCUSDT&timeframe=1h", "invalid_choice", 'timeframe: "1h" is not a valid choice.'),
    ("symbol=btc;drop", "invalid", "symbol: "),
    ("timeframe=60", "required", "symbol: "),
    ("symbol=BTCUSDT&interval=60", "unknown_parameter", "unknown query parameter interval"),
])
def test_candles_of_an_unknown_symbol_or_timeframe_are_refused(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis, query: str, code: str, message: str
) -> None:
    raw_redis.set(keys.status_key, asyncio.run(a_snapshot()).model_dump_json())
    response = viewer.get("/api/candles?" + query)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"].startswith(message)


def test_trades_are_paginated_newest_first(viewer: Client, keys: RedisKeys) -> None:
    for n in range(1, 121):
        make_trade(n)
    first = viewer.get("/api/trades").json()
    assert first["count"] == 120 and first["previous"] is None and "page=2" in first["next"]
    assert [t["trade_id"] for t in first["results"][:3]] == ["t120", "t119", "t118"] and len(first["results"]) == 50
    assert first["results"][0]["price"] == "100.25"  # money as an exact decimal string, no trailing zeros
    assert (first["results"][0]["qty"], first["results"][0]["fee"], first["results"][0]["realized_pnl"]) == (
        "0.5", "0.050125", "0")
    last = viewer.get("/api/trades?page=3").json()
    assert len(last["results"]) == 20 and last["next"] is None and last["results"][-1]["trade_id"] == "t1"
    big = viewer.get("/api/trades?page_size=1000").json()
    assert len(big["results"]) == 120  # capped at 500 per page, and there are 120
    one = viewer.get("/api/trades?limit=1").json()  # `limit`: the page size's other name
    assert len(one["results"]) == 1 and one["count"] == 120
    assert viewer.get("/api/trades?page=9").status_code == 404


def test_trade_filters(viewer: Client, keys: RedisKeys) -> None:
    for n in range(1, 11):
        make_trade(n, symbol="ETHUSDT" if n % 2 else "BTCUSDT", side="sell" if n > 5 else "buy")

    def ids(query: str) -> list[str]:
        return [t["trade_id"] for t in viewer.get("/api/trades?" + query).json()["results"]]

    assert ids("symbol=BTCUSDT") == ["t10", "t8", "t6", "t4", "t2"]
    assert ids("side=sell&symbol=ETHUSDT") == ["t9", "t7"]
    since, until = (T0 + timedelta(minutes=3)).isoformat(), (T0 + timedelta(minutes=6)).isoformat()
    assert ids(f"since={since}&until={until}".replace("+", "%2B")) == ["t5", "t4", "t3"]  # until is exclusive
    for edge in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00%2B05:00"):  # would overflow: 400, not 500
        assert viewer.get(f"/api/trades?since={edge}").status_code == 400
        assert viewer.get(f"/api/equity?since={edge}").status_code == 400
    bad = viewer.get("/api/trades?side=short")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_choice"
    assert bad.json()["message"].startswith("side: ")
    assert viewer.get("/api/trades?since=yesterday").status_code == 400


def test_a_symbol_must_be_traded_now_or_in_the_stored_trades(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis
) -> None:
    make_trade(1, symbol="SOLUSDT")  # traded before a restart with other SYMBOLS
    make_trade(2, symbol="DOGEUSDT", bot="other")  # another bot's symbol is not this one's
    assert viewer.get("/api/trades?symbol=NOPE").status_code == 200  # no snapshot yet: nothing to judge by
    assert viewer.get("/api/trades?symbol=NOPE&bot=main").status_code == 200
    raw_redis.set(keys.status_key, asyncio.run(a_snapshot()).model_dump_json())
    for path in ("/api/trades?symbol=NOPE&bot=main", "/api/trades.csv?bot=main&symbol=NOPE",
                 "/api/trades?symbol=DOGEUSDT&bot=main"):
        bad = viewer.get(path)
        assert bad.status_code == 400, path
        assert bad.json()["code"] == "unknown_symbol", path
        assert "is not a symbol of this bot; it has: BTCUSDT, ETHUSDT, SOLUSDT" in bad.json()["message"], path
    assert viewer.get("/api/trades?symbol=NOPE&bot=main").json()["message"].startswith("symbol: NOPE is not")
    # Without `bot`: every bot's trades, so every bot's symbols count.
    every = viewer.get("/api/trades?symbol=NOPE")
    assert every.status_code == 400 and every.json()["code"] == "unknown_symbol"
    assert every.json()["message"] == (
        "symbol: NOPE is not a symbol of any bot; they have: BTCUSDT, DOGEUSDT, ETHUSDT, SOLUSDT")
    assert [t["trade_id"] for t in viewer.get("/api/trades?symbol=DOGEUSDT").json()["results"]] == ["t2"]
    assert [t["trade_id"] for t in viewer.get("/api/trades?symbol=SOLUSDT&bot=main").json()["results"]] == ["t1"]
    assert viewer.get("/api/trades?symbol=ETHUSDT").json()["count"] == 0  # traded now, nothing stored yet
    odd = viewer.get("/api/trades?symbol=%25s%25%28x%29d&bot=main")  # printf-like input is only echoed
    assert odd.status_code == 400 and "%s%(x)d is not" in odd.json()["message"]


@pytest.mark.parametrize(("path", "reads"), [
    ("/api/trades?symbl=BTCUSDT", "bot, has_note, limit, page, page_size, side, since, symbol, until"),
    ("/api/trades.csv?page=2", "bot, has_note, side, since, symbol, until"),
    ("/api/equity?limit=5&from=2026-01-01", "bot, limit, since"),
    ("/api/dashboard?x=1", "bot"),
    ("/api/positions?x=1&y=2", "bot"),
    ("/api/candles?symbol=BTCUSDT&bots=main", "bot, symbol, timeframe"),
    ("/api/bots?bot=main", "none"),
])
def test_unknown_query_parameters_are_refused(viewer: Client, keys: RedisKeys, path: str, reads: str) -> None:
    response = viewer.get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"
    assert response.json()["message"].endswith(f"(this endpoint reads: {reads})")
    assert response.json()["message"].startswith("unknown query parameter")


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page=-1", "page=1.5", "page_size=abc", "page_size=0",
                                   "page_size=%EF%BC%95", "page_size=" + "9" * 5000])
def test_malformed_page_numbers_are_refused(viewer: Client, keys: RedisKeys, query: str) -> None:
    response = viewer.get("/api/trades?" + query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["message"] == f"{query.split('=')[0]}: must be a whole number from 1 to 999999999"


def test_the_last_page_and_a_page_past_the_end(viewer: Client, keys: RedisKeys) -> None:
    for n in range(1, 4):
        make_trade(n)
    assert [t["trade_id"] for t in viewer.get("/api/trades?page_size=2&page=last").json()["results"]] == ["t1"]
    assert viewer.get("/api/trades?page=2").status_code == 404  # well formed, but there is no such page


async def collect(response: Any) -> bytes:
    """The body of a streamed response (an async stream, as the ASGI server sends it)."""
    return b"".join([chunk async for chunk in response.streaming_content])


@pytest.mark.django_db(transaction=True)  # the stream reads in another thread: the rows must be committed
def test_csv_export_streams_the_filtered_trades(viewer: Client, keys: RedisKeys) -> None:
    for n in range(1, 5):
        make_trade(n, side="sell" if n % 2 else "buy")
    Trade.objects.filter(trade_id="t3").update(note='held, "patient"')
    Trade.objects.filter(trade_id="t1").update(note="=HYPERLINK(1)")  # a spreadsheet must not run it
    response = viewer.get("/api/trades.csv?side=sell")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="trades.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(asyncio.run(collect(response)).decode())))
    assert rows[0][:6] == ["executed_at", "trade_id", "order_id", "symbol", "side", "qty"]
    assert [r[1] for r in rows[1:]] == ["t3", "t1"]
    t3 = dict(zip(rows[0], rows[1], strict=True))
    assert (t3["qty"], t3["price"], t3["fee"], t3["realized_pnl"], t3["note"]) == (
        "0.5", "100.25", "0.050125", "-1.5", 'held, "patient"')
    assert t3["executed_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert rows[2][rows[0].index("note")] == "'=HYPERLINK(1)"
    # which bot's: the export mixes them (its last column before the columns added since, at the end)
    assert rows[0][14] == "bot_id" and {r[14] for r in rows[1:]} == {"main"}


def test_equity_curve_oldest_first_with_since_and_limit(viewer: Client, keys: RedisKeys) -> None:
    for n in range(1, 6):
        EquitySnapshot.objects.create(
            bot_id="main", seq=n, taken_at=T0 + timedelta(seconds=10 * n), equity=Decimal(10000 + n),
            cash=Decimal(9000), realized_pnl=Decimal(0), unrealized_pnl=Decimal(n), total_pnl=Decimal(n))
    body = viewer.get("/api/equity").json()
    assert [p["seq"] for p in body] == [1, 2, 3, 4, 5] and body[0]["equity"] == "10001"
    assert (body[0]["cash"], body[0]["realized_pnl"], body[0]["unrealized_pnl"]) == ("9000", "0", "1")
    assert [p["seq"] for p in viewer.get("/api/equity?limit=2").json()] == [4, 5]
    since = (T0 + timedelta(seconds=30)).isoformat().replace("+", "%2B")
    assert [p["seq"] for p in viewer.get(f"/api/equity?since={since}").json()] == [3, 4, 5]
    assert viewer.get("/api/equity?limit=0").status_code == 400


def test_health_is_open_and_names_no_secret(client: Client, keys: RedisKeys, raw_redis: redis.Redis) -> None:
    body = client.get("/api/health").json()
    assert body["redis"] == "ok" and body["database"] == "ok" and body["bot"] == "offline"
    assert "password" not in str(body).lower() and "redis://" not in str(body)
    assert body["dead_letters"] == 0 and body["bots"] == {"online": 0, "total": 0}
    raw_redis.xadd(keys.dead_letter_stream, {"id": "1-0", "reason": "off-contract", "e": "x"})
    assert client.get("/api/health").json()["dead_letters"] == 1
    # Every listed bot counts: how many are online, and their dead letters too.
    raw_redis.zadd(keys.bots_registry, {"main": 1_700_000_000_000, "b2": 1_700_000_000_000})
    raw_redis.set(keys.for_bot("b2").heartbeat_key, "1", px=5000)
    raw_redis.xadd(keys.for_bot("b2").dead_letter_stream, {"id": "1-0", "reason": "off-contract", "e": "x"})
    body = client.get("/api/health").json()
    assert body["bots"] == {"online": 1, "total": 2} and body["dead_letters"] == 2
    assert body["bot"] == "offline" and body["bot_id"] == "main"  # the default bot's own state


def test_the_openapi_schema_lists_every_endpoint(viewer: Client, keys: RedisKeys) -> None:
    response = viewer.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {"/api/health", "/api/bots", "/api/dashboard", "/api/positions", "/api/candles",
                                    "/api/trades", "/api/trades.csv", "/api/equity",
                                    "/api/trades/{id}",  # a trade's note (test_notes.py)
                                    # the user's own alerts (test_alerts.py)
                                    "/api/alerts", "/api/alerts/{alert_id}", "/api/alerts/firings",
                                    # analytics (test_analytics.py)
                                    "/api/performance", "/api/performance.csv", "/api/breakdown", "/api/distribution",
                                    "/api/curve", "/api/allocation", "/api/portfolio.csv"}
    trades = schema["paths"]["/api/trades"]["get"]
    assert {p["name"] for p in trades["parameters"]} >= {"bot", "symbol", "side", "since", "until", "page",
                                                         "page_size"}
    ok = trades["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PaginatedTradeList"}  # still the paginated shape
    assert "StatusEvent" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        method, operation = next(iter(operations.items()))  # the first: GET, or the note's PATCH
        responses = operation["responses"]
        if path == "/api/health":
            assert "401" not in responses  # open to all
            continue
        assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "WWW-Authenticate" in responses["401"]["headers"], path
        assert "400" in responses, path
        if method == "get" and path != "/api/bots" and not path.startswith("/api/alerts/"):
            # every endpoint about one bot names it with `bot`, and may not know it (alerts: to filter by)
            assert "bot" in {p["name"] for p in operations["get"]["parameters"]}, path
            assert responses["404"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, path
    assert "Error" in schema["components"]["schemas"]
    bots = schema["paths"]["/api/bots"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["components"]["schemas"][bots["$ref"].rsplit("/", 1)[-1]]["items"] == {
        "$ref": "#/components/schemas/BotResponse"}
    assert set(schema["components"]["schemas"]["BotResponse"]["properties"]) == {
        "id", "state", "online", "strategy", "symbols", "mode", "market_data", "pnl", "equity", "trade_count",
        "win_rate", "max_drawdown", "last_seen", "can_control",
        # the rest of the overview's line (BotSummaryData): one model for the socket and the API
        "reason", "quote_asset", "decimals", "max_drawdown_pct", "last_seq"}


@pytest.mark.django_db(transaction=True)
def test_no_csv_cell_reads_as_a_formula(viewer: Client, keys: RedisKeys) -> None:
    # Every text column, with the tricks that get past a check of the first character only.
    Trade.objects.create(
        bot_id="main", trade_id="=HYPERLINK(1)", order_id="@SUM(1)", seq=1, symbol="BTCUSDT", side="buy",
        qty=Decimal("0.5"), price=Decimal("100"), quote_qty=Decimal("50"), fee=Decimal("0.05"), fee_asset="USDT",
        realized_pnl=Decimal(0), reason=" \u200b+cmd|' /C calc'!A0", note="\uff1d1+1", executed_at=T0,
    )
    Trade.objects.create(
        bot_id="main", trade_id="t2", order_id="", seq=2, symbol="BTCUSDT", side="sell", qty=Decimal("0.5"),
        price=Decimal("101"), quote_qty=Decimal("50.5"), fee=Decimal("0.05"), fee_asset="USDT",
        realized_pnl=Decimal("-1.5"), reason="\t-2+3", note="plain, harmless", executed_at=T0 + timedelta(minutes=1),
    )
    response = viewer.get("/api/trades.csv")
    rows = list(csv.reader(io.StringIO(asyncio.run(collect(response)).decode())))
    ignored = " \t\r\n\u00a0\u200b\u200c\u200d\u2060\ufeff"
    text_columns = {"trade_id", "order_id", "symbol", "side", "fee_asset", "reason", "note"}
    for row in rows[1:]:
        for column, cell in zip(rows[0], row, strict=True):
            # What a spreadsheet does: skip blanks, look at the first character.
            first = cell.lstrip(ignored)[:1]
            if column in text_columns and first:
                assert first not in "=+-@\uff1d\uff0b\uff0d\uff20" or cell.startswith("'"), (column, cell)
    by_id = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id["'=HYPERLINK(1)"]["order_id"] == "'@SUM(1)"
    assert by_id["t2"]["realized_pnl"] == "-1.5"  # numbers stay numbers
    assert by_id["t2"]["note"] == "plain, harmless"


def test_health_names_the_redis_master_and_each_groups_backlog(
    client: Client, keys: RedisKeys, raw_redis: redis.Redis
) -> None:
    body = client.get("/api/health").json()
    assert body["redis_master"]["found_by"] == "url" and body["redis_master"]["role"] == "master"
    assert body["consumer_groups"] == {"recorder": {"lag": 0, "pending": 0}, "notifier": {"lag": 0, "pending": 0}}
    for n in range(5):
        raw_redis.xadd(keys.trades_stream, {"e": str(n)})
    raw_redis.xgroup_create(keys.trades_stream, keys.recorder_group, id="0")
    raw_redis.xreadgroup(keys.recorder_group, "r1", {keys.trades_stream: ">"}, count=2)  # 2 given, unacked
    groups = client.get("/api/health").json()["consumer_groups"]
    assert groups["recorder"]["pending"] == 2
    version = tuple(int(part) for part in raw_redis.info("server")["redis_version"].split(".")[:2])
    assert groups["recorder"]["lag"] == (3 if version >= (7, 0) else None)  # XINFO's lag came with 7.0
