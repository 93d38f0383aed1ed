"""The analytics endpoints over HTTP: shapes, filters, every bad parameter (400 with a reason), an
unknown bot (404), the CSV exports, and where the money sits from the bots' snapshots in Redis."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from django.test import Client

from bot_api.events import Side, StatusEvent
from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import Trade
from crypto_bot_ui.trades.services import date_openings
from tests.bot.fakes import ListSink, ScriptedStrategy, engine, tick

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Berlin, the night clocks go forward
ENDPOINTS = ("/api/performance", "/api/performance.csv", "/api/breakdown", "/api/distribution", "/api/curve",
             "/api/allocation", "/api/portfolio.csv")


@pytest.fixture
def trades(keys: RedisKeys) -> None:
    """main: a buy, then a sell 40 minutes later (+10.5, fee 0.5): on the 28th in UTC, the 29th in Berlin."""
    def trade(n: int, side: str, pnl: str, fee: str, minutes: int) -> Trade:
        return Trade(bot_id="main", trade_id=f"t{n}", symbol="BTCUSDT", side=side, qty=Decimal("0.01"),
                     price=Decimal(60000), quote_qty=Decimal(600), fee=Decimal(fee), fee_asset="USDT",
                     fee_in_quote=Decimal(fee), realized_pnl=Decimal(pnl), strategy="sma_cross",
                     executed_at=T0 + timedelta(minutes=minutes))
    fills = [trade(1, "buy", "0", "0.6", 0), trade(2, "sell", "10.5", "0.5", 40)]
    date_openings(trades=Trade.objects.bulk_create(fills))  # as the recorder does


def test_every_analytics_endpoint_needs_a_login(client: Client, keys: RedisKeys) -> None:
    for path in ENDPOINTS:
        assert client.get(path).status_code == 401, path


def test_performance_per_local_day(viewer: Client, trades: None) -> None:
    utc = viewer.get("/api/performance?period=day").json()
    assert utc == [{"period_start": "2026-03-28T00:00:00Z", "realized_pnl": "10.5", "fees": "1.1",
                    "trade_count": 2, "wins": 1, "losses": 0, "cumulative_pnl": "10.5"}]
    berlin = viewer.get("/api/performance?period=day&tz=Europe/Berlin&since=2026-03-28&until=2026-03-30").json()
    assert [(p["period_start"], p["realized_pnl"], p["trade_count"], p["cumulative_pnl"]) for p in berlin] == [
        ("2026-03-28T00:00:00+01:00", "0", 1, "0"), ("2026-03-29T00:00:00+01:00", "10.5", 1, "10.5")]
    month = viewer.get("/api/performance?period=month&bot=main&tz=Asia/Tokyo").json()
    assert [p["period_start"] for p in month] == ["2026-03-01T00:00:00+09:00"]


@pytest.mark.parametrize(("query", "status", "code", "says"), [
    ("period=year", 400, "invalid_choice", "period"),
    ("tz=Mars/Olympus", 400, "unknown_time_zone", "not a time zone"),
    ("since=2026-03-30&until=2026-03-29", 400, "empty_range", "after since"),
    ("since=yesterday", 400, "invalid", "YYYY-MM-DD"),
    ("since=1900-01-01", 400, "out_of_range", "1970"),
    ("period=day&since=1980-01-01&until=2026-01-01", 400, "range_too_long", "longer period"),
    ("sinse=2026-01-01", 400, "unknown_parameter", "sinse"),
    ("bot=no%20such", 400, "invalid", "bot"),
    ("bot=nobody", 404, "unknown_bot", "nobody"),
])
def test_bad_parameters_are_refused_with_a_reason(
    viewer: Client, trades: None, query: str, status: int, code: str, says: str
) -> None:
    response = viewer.get("/api/performance?" + query)
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert says in response.json()["message"]
    if code not in ("invalid_choice", "range_too_long"):  # those only concern periods
        assert viewer.get("/api/breakdown?" + query).status_code == status


def test_breakdown_distribution_and_curve(viewer: Client, trades: None) -> None:
    body = viewer.get("/api/breakdown").json()
    assert body["total"] == {"key": "", "trades": 2, "closed": 1, "wins": 1, "losses": 0, "win_rate": "1",
                             "profit_factor": None, "expectancy": "10.5", "total": "10.5", "fees": "1.1",
                             "gross_profit": "10.5", "gross_loss": "0"}
    assert [r["key"] for r in body["by_strategy"]] == ["sma_cross"]
    spread = viewer.get("/api/distribution?bot=main").json()
    assert spread["closed"] == 1 and sum(b["count"] for b in spread["pnl"]) == 1
    assert [b["count"] for b in spread["holding"] if b["low_seconds"] == 900] == [1]  # 40 minutes
    assert spread["mean_win_seconds"] == 2400 and spread["mean_loss_seconds"] is None
    curve = viewer.get("/api/curve?tz=Europe/Berlin").json()
    assert curve == {"step_seconds": 0, "equity": [], "max_drawdown": None}


def test_performance_csv(viewer: Client, trades: None) -> None:
    response = viewer.get("/api/performance.csv?period=week")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="performance-week.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["period_start", "realized_pnl", "fees", "trade_count", "wins", "losses", "cumulative_pnl"],
                    ["2026-03-23T00:00:00+00:00", "10.5", "1.1", "2", "1", "0", "10.5"]]


async def a_snapshot() -> StatusEvent:
    """A real engine's snapshot holding BTC bought at 100, now at 101."""
    eng = engine(ScriptedStrategy([Side.BUY]), ListSink(), ORDER_QUOTE="1000")
    await eng.on_tick(tick("BTCUSDT", "100"))
    await eng.on_tick(tick("BTCUSDT", "101"))
    return eng.snapshot()


def test_allocation_and_portfolio_from_the_bots_snapshots(
    viewer: Client, keys: RedisKeys, raw_redis: redis.Redis
) -> None:
    assert viewer.get("/api/allocation?bot=main").json()["code"] == "unavailable"  # no snapshot yet: 503
    assert viewer.get("/api/allocation").json() == {"groups": []}  # no bot registered
    snapshot = asyncio.run(a_snapshot())
    for bot in ("main", "two"):
        raw_redis.zadd(keys.bots_registry, {bot: int(time.time() * 1000)})
        raw_redis.set(keys.for_bot(bot).status_key, snapshot.model_copy(update={"bot": bot}).model_dump_json())
    marks = snapshot.data.marks
    assert marks is not None
    one = viewer.get("/api/allocation?bot=main").json()["groups"]
    assert [(s["name"], Decimal(s["value"])) for s in one[0]["slices"]] == [
        ("cash", marks.cash), ("BTCUSDT", marks.positions["BTCUSDT"].value)]
    assert one[0]["decimals"] == marks.decimals
    assert Decimal(one[0]["total"]) == marks.equity  # the bot's page's equity, digit for digit
    both = viewer.get("/api/allocation").json()["groups"][0]
    assert Decimal(both["total"]) == 2 * marks.equity and len(both["holdings"]) == 4
    rows = list(csv.reader(io.StringIO(viewer.get("/api/portfolio.csv?bot=main").content.decode())))
    assert rows[0] == ["bot_id", "asset", "qty", "avg_entry", "mark_price", "value", "unrealized_pnl", "quote_asset"]
    assert rows[1][:2] == ["main", "cash"] and rows[2][:2] == ["main", "BTCUSDT"] and rows[2][4] == "101"


RANGED = ("/api/performance", "/api/performance.csv", "/api/breakdown", "/api/distribution", "/api/curve")
PERIODIC = ("/api/performance", "/api/performance.csv")
EVERY = (*RANGED, "/api/allocation", "/api/portfolio.csv")


@pytest.mark.parametrize(("paths", "query", "status", "code"), [
    (RANGED, "tz=Mars/Olympus", 400, "unknown_time_zone"),
    (RANGED, "since=2026-03-30&until=2026-03-29", 400, "empty_range"),
    (RANGED, "until=9999-01-01", 400, "out_of_range"),
    (RANGED, "since=2026-02-30", 400, "invalid"),
    (EVERY, "bot=nobody", 404, "unknown_bot"),
    (EVERY, "colour=red", 400, "unknown_parameter"),
    (("/api/allocation", "/api/portfolio.csv"), "since=2026-01-01", 400, "unknown_parameter"),
    (PERIODIC, "period=hour", 400, "invalid_choice"),
    (PERIODIC, "period=day&since=1980-01-01&until=2026-01-01", 400, "range_too_long"),
])
def test_every_endpoint_refuses_what_it_cannot_answer(
    viewer: Client, trades: None, paths: tuple[str, ...], query: str, status: int, code: str
) -> None:
    for path in paths:
        response = viewer.get(f"{path}?{query}")
        assert (response.status_code, response.json()["code"]) == (status, code), path
        assert response.json()["message"], path
