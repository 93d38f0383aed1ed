"""A trade's journal note over REST: `PATCH /api/trades/<pk>` with the note only, written by who may write
that bot's notes (403 for anyone else, nothing written), refused with a reason when not plain text,
audited; the trade list and the CSV show who changed each note last, and filter by having one."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import NOTE_MAX_CHARS, Bot, Trade, TradeNoteChange
from tests.conftest import make_operator
from tests.crypto_bot_ui.api.test_api import collect, make_trade
from tests.crypto_bot_ui.api.test_bots import logged_in

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def patch(client: Client, trade: Trade | int, body: Any) -> Any:
    pk = trade if isinstance(trade, int) else trade.pk
    return client.patch(f"/api/trades/{pk}", body, content_type="application/json")


def note_of(trade: Trade) -> str:
    return Trade.objects.get(pk=trade.pk).note


@pytest.fixture
def operator(db: None) -> tuple[User, Client]:
    """A user in the Operators group, logged in."""
    user = User.objects.create_user("olga", password="pw-olga-12345")
    make_operator(user)
    return user, logged_in(user)


def test_an_operator_writes_a_note_and_gets_the_trade_back(operator: tuple[User, Client], keys: RedisKeys) -> None:
    user, client = operator
    trade = make_trade(1)
    response = patch(client, trade, {"note": "closed too early\r\n"})
    assert response.status_code == 200, response.content
    body = response.json()
    change = TradeNoteChange.objects.get()
    assert (change.trade_id, change.user, change.username, change.note) == (trade.pk, user, "olga", "closed too early")
    assert body["note"] == "closed too early" and body["note_changed_by"] == "olga"
    assert body["note_changed_at"] == change.changed_at.isoformat().replace("+00:00", "Z")
    assert (body["id"], body["trade_id"], body["price"], body["fee_in_quote"], body["strategy"]) == (
        trade.pk, "t1", "100.25", "0", "")
    assert note_of(trade) == "closed too early"


def test_a_viewer_is_refused_and_nothing_is_written(viewer: Client, keys: RedisKeys) -> None:
    trade = make_trade(1)
    response = patch(viewer, trade, {"note": "mine now"})
    assert response.status_code == 403
    assert response.json() == {"code": "forbidden", "message": (
        "you may not write notes on bot main's trades: an admin can add you to the Operators group or to this "
        "bot's operators")}
    assert note_of(trade) == "" and not TradeNoteChange.objects.exists()


def test_a_bots_own_operator_writes_its_notes_only(keys: RedisKeys) -> None:
    ann = User.objects.create_user("ann", password="pw-ann-123456")
    Bot.objects.create(bot_id="eth").operators.add(ann)
    client = logged_in(ann)
    mine, other = make_trade(1, bot="eth"), make_trade(2, bot="main")
    assert patch(client, mine, {"note": "ann's bot"}).status_code == 200
    assert patch(client, other, {"note": "not mine"}).status_code == 403
    assert (note_of(mine), note_of(other)) == ("ann's bot", "")
    assert list(TradeNoteChange.objects.values_list("trade__trade_id", "username")) == [("t1", "ann")]


def test_a_superuser_writes_any_bots_notes(keys: RedisKeys) -> None:
    client = logged_in(User.objects.create_superuser("root", password="pw-root-12345"))
    trade = make_trade(1, bot="anything")
    assert patch(client, trade, {"note": "root was here"}).json()["note_changed_by"] == "root"


def test_without_a_session_the_answer_is_401(client: Client, keys: RedisKeys) -> None:
    trade = make_trade(1)
    response = patch(client, trade, {"note": "anonymous"})
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Session realm="api"'
    assert note_of(trade) == "" and not TradeNoteChange.objects.exists()


@pytest.mark.parametrize(("note", "code", "message"), [
    ("x" * (NOTE_MAX_CHARS + 1), "too_long", f"the note is 2001 characters long: at most {NOTE_MAX_CHARS}"),
    ("red \x1b[31m", "invalid_note", "a note is plain text: character 5 (U+001B) is a control character; only "
                                     "line breaks and tabs may be used"),
    ("nul \x00", "invalid_note", "a note is plain text: character 5 (U+0000) is a control character; only "
                                 "line breaks and tabs may be used"),
    ("half \ud83d", "invalid_note", "a note is plain text: character 6 (U+D83D) is half of a character (a lone "
                                    "surrogate)"),
])
def test_a_note_that_is_not_plain_text_or_too_long_is_refused(
    operator: tuple[User, Client], keys: RedisKeys, note: str, code: str, message: str,
) -> None:
    trade = make_trade(1)
    response = patch(operator[1], trade, {"note": note})
    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message}
    assert note_of(trade) == "" and not TradeNoteChange.objects.exists()


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"note": "x", "price": "1"}, "read_only",
     "price is read-only: a trade's facts come from the bot; only its note changes"),
    ({"qty": "9", "note_changed_by": "eve"}, "read_only",
     "note_changed_by, qty are read-only: a trade's facts come from the bot; only its note changes"),
    ({"note": "x", "colour": "red"}, "unknown_field", "unknown field colour (this endpoint takes: note)"),
    ({}, "required", "note: This field is required."),
    ({"note": 5}, "invalid", "note: Not a valid string."),
    ({"note": None}, "null", "note: This field may not be null."),
    (["note"], "invalid", "Invalid data. Expected a dictionary, but got list."),
])
def test_a_body_but_the_note_alone_is_refused_naming_what_is_wrong(
    operator: tuple[User, Client], keys: RedisKeys, body: Any, code: str, message: str,
) -> None:
    trade = make_trade(1)
    response = patch(operator[1], trade, body)
    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message}
    assert Trade.objects.get(pk=trade.pk).price == trade.price and not TradeNoteChange.objects.exists()


def test_an_unknown_trade_is_a_404(operator: tuple[User, Client], viewer: Client, keys: RedisKeys) -> None:
    for client in (operator[1], viewer):
        response = patch(client, 4242, {"note": "x"})
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "there is no trade 4242"}
    assert patch(operator[1], 10**30, {"note": "x"}).status_code == 404  # beyond any integer column
    assert operator[1].get(f"/api/trades/{make_trade(1).pk}").status_code == 405  # reading one: /api/trades


def test_the_same_note_again_writes_no_audit_row(operator: tuple[User, Client], keys: RedisKeys) -> None:
    trade = make_trade(1)
    first = patch(operator[1], trade, {"note": "patient"}).json()
    again = patch(operator[1], trade, {"note": "patient \r\n"})
    assert again.status_code == 200 and again.json() == first
    assert TradeNoteChange.objects.count() == 1


def test_changes_need_the_csrf_token(keys: RedisKeys) -> None:
    user = User.objects.create_user("olga", password="pw-olga-12345")
    make_operator(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    trade = make_trade(1)
    refused = patch(client, trade, {"note": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    client.get("/bots/main/")  # the page sets the CSRF cookie (its forms carry the token)
    token = client.cookies["csrftoken"].value
    written = client.patch(f"/api/trades/{trade.pk}", {"note": "x"}, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert written.status_code == 200, written.content


def test_the_list_shows_who_changed_each_note_last_and_filters_by_having_one(
    operator: tuple[User, Client], viewer: Client, keys: RedisKeys,
) -> None:
    trades = [make_trade(n) for n in range(1, 6)]
    for trade in trades[:2]:
        patch(operator[1], trade, {"note": f"note of {trade.trade_id}"})
    listed = viewer.get("/api/trades").json()["results"]
    by_id = {t["trade_id"]: t for t in listed}
    change = TradeNoteChange.objects.get(trade=trades[0])
    assert (by_id["t1"]["note_changed_by"], by_id["t1"]["note_changed_at"]) == (
        "olga", change.changed_at.isoformat().replace("+00:00", "Z"))
    assert (by_id["t5"]["note_changed_by"], by_id["t5"]["note_changed_at"]) == (None, None)
    assert set(by_id["t1"]) >= {"id", "strategy", "fee_in_quote", "note", "note_changed_at", "note_changed_by"}
    assert "can_note" not in by_id["t1"]
    noted = viewer.get("/api/trades?has_note=true").json()
    assert [t["trade_id"] for t in noted["results"]] == ["t2", "t1"] and noted["count"] == 2
    assert [t["trade_id"] for t in viewer.get("/api/trades?has_note=false").json()["results"]] == ["t5", "t4", "t3"]
    assert viewer.get("/api/trades?has_note=1&side=buy").json()["count"] == 2
    bad = viewer.get("/api/trades?has_note=yes")
    assert bad.status_code == 400 and bad.json() == {"code": "invalid", "message": "has_note: must be true or false"}


def test_a_page_of_trades_costs_the_same_queries_whatever_its_size(
    operator: tuple[User, Client], viewer: Client, keys: RedisKeys,
) -> None:
    trades = [make_trade(n) for n in range(1, 21)]
    for trade in trades:
        patch(operator[1], trade, {"note": "n"})
    counts = []
    for size in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            assert len(viewer.get(f"/api/trades?page_size={size}").json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)  # the stream reads in another thread: the rows must be committed
def test_the_csv_has_the_new_columns_at_the_end_and_the_note_inert(keys: RedisKeys) -> None:
    user = User.objects.create_user("=olga", password="pw-olga-12345")  # a user name a formula could start
    make_operator(user)
    client = logged_in(user)
    noted, plain = make_trade(1), make_trade(2)
    Trade.objects.filter(pk=plain.pk).update(strategy="+sma")
    assert patch(client, noted, {"note": "=cmd|' /C calc'!A0"}).status_code == 200
    rows = list(csv.reader(io.StringIO(asyncio.run(collect(client.get("/api/trades.csv"))).decode())))
    assert rows[0][13:] == ["note", "bot_id", "strategy", "fee_in_quote", "note_changed_by", "note_changed_at"]
    by_id = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    changed_at = TradeNoteChange.objects.get().changed_at.isoformat()
    assert {k: by_id["t1"][k] for k in ("note", "note_changed_by", "note_changed_at", "fee_in_quote")} == {
        "note": "'=cmd|' /C calc'!A0", "note_changed_by": "'=olga", "note_changed_at": changed_at,
        "fee_in_quote": "0"}
    assert (by_id["t2"]["strategy"], by_id["t2"]["note_changed_by"], by_id["t2"]["note_changed_at"]) == (
        "'+sma", "", "")
    only_noted = asyncio.run(collect(client.get("/api/trades.csv?has_note=true"))).decode().splitlines()
    assert len(only_noted) == 2  # the header and t1


def test_the_schema_has_the_note_endpoint(viewer: Client, keys: RedisKeys) -> None:
    schema = yaml.safe_load(viewer.get("/api/schema/").content)
    assert set(schema["paths"]["/api/trades/{id}"]) == {"patch"}  # reading one trade: /api/trades
    patch_op = schema["paths"]["/api/trades/{id}"]["patch"]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in patch_op["parameters"]] == [("id", "path", "integer")]
    assert patch_op["requestBody"]["required"] is True
    assert set(patch_op["responses"]) == {"200", "400", "401", "403", "404"}
    for status in ("400", "401", "403", "404"):
        assert patch_op["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}, status
    assert patch_op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Trade"}
    body = patch_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schemas = schema["components"]["schemas"]
    assert set(schemas[body]["properties"]) == {"note"} and schemas[body]["required"] == ["note"]
    assert set(schemas["Trade"]["properties"]) >= {"id", "strategy", "fee_in_quote", "note_changed_at",
                                                   "note_changed_by"}
    has_note = next(p for p in schema["paths"]["/api/trades"]["get"]["parameters"] if p["name"] == "has_note")
    assert has_note["schema"]["type"] == "boolean"
