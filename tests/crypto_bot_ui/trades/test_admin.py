"""The admin: trades listed, filtered, searched and exported; facts read-only, the note editable by
who may write that bot's notes, audited, with its history; equity points, the command audit log and
the notes' audit read-only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from crypto_bot_ui.trades.models import NOTE_MAX_CHARS, Bot, BotCommand, EquitySnapshot, Trade, TradeNoteChange
from tests.crypto_bot_ui.api.test_bots import logged_in

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def trades() -> list[Trade]:
    return [Trade.objects.create(
        trade_id=f"trade-{n}", order_id=f"o{n}", symbol=symbol, side=side, qty=Decimal("0.25"), price=Decimal(100 + n),
        quote_qty=Decimal(25), fee=Decimal("0.025"), fee_asset="USDT", realized_pnl=Decimal(n - 2),
        executed_at=T0 + timedelta(hours=n),
    ) for n, (symbol, side) in enumerate([("BTCUSDT", "buy"), ("BTCUSDT", "sell"), ("ETHUSDT", "buy")])]


def listed(client: Client, query: str = "") -> list[str]:
    response = client.get("/admin/trades/trade/" + query)
    assert response.status_code == 200
    return [t.trade_id for t in response.context["cl"].result_list]


def test_the_list_shows_the_columns_and_filters(admin_client: Client, trades: list[Trade]) -> None:
    response = admin_client.get("/admin/trades/trade/")
    html = response.content.decode()
    for column in ("Symbol", "Side", "Qty", "Price", "Fee", "Realized pnl", "Executed at"):
        assert column in html
    assert listed(admin_client) == ["trade-2", "trade-1", "trade-0"]
    assert listed(admin_client, "?symbol=BTCUSDT") == ["trade-1", "trade-0"]
    assert listed(admin_client, "?side__exact=sell") == ["trade-1"]
    assert listed(admin_client, "?q=trade-2") == ["trade-2"]
    assert listed(admin_client, "?q=ETHUSDT") == ["trade-2"]
    day = T0 + timedelta(hours=2)
    assert "trade-2" in listed(admin_client, f"?executed_at__day={day.day}&executed_at__month={day.month}"
                                             f"&executed_at__year={day.year}")


def test_export_action_gives_the_selection_as_csv(admin_client: Client, trades: list[Trade]) -> None:
    response = admin_client.post("/admin/trades/trade/", {
        "action": "export_csv", "_selected_action": [trades[0].pk, trades[2].pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][1] == "trade_id" and [r[1] for r in rows[1:]] == ["trade-2", "trade-0"]


def test_trade_facts_are_read_only_and_the_note_is_editable(admin_client: Client, trades: list[Trade]) -> None:
    url = f"/admin/trades/trade/{trades[1].pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert list(form.fields) == ["note"]  # every fact is a read-only field
    response = admin_client.post(url, {"note": "closed too early", "price": "1", "qty": "99"})
    assert response.status_code == 302
    trades[1].refresh_from_db()
    assert (trades[1].note, trades[1].price, trades[1].qty) == ("closed too early", Decimal(101), Decimal("0.25"))
    assert admin_client.get("/admin/trades/trade/add/").status_code == 403
    assert admin_client.post(f"/admin/trades/trade/{trades[1].pk}/delete/", {"post": "yes"}).status_code == 403
    assert Trade.objects.count() == 3


def test_equity_points_and_the_command_log_are_read_only(admin_client: Client) -> None:
    point = EquitySnapshot.objects.create(seq=1, taken_at=T0, equity=Decimal(1), cash=Decimal(1),
                                          realized_pnl=Decimal(0), unrealized_pnl=Decimal(0), total_pnl=Decimal(0))
    command = BotCommand.objects.create(command_id="c-1", command="stop_bot", username="olga", address="10.0.0.7",
                                        issued_at=T0, status="ok")
    for model, pk in (("equitysnapshot", point.pk), ("botcommand", command.pk)):
        assert admin_client.get(f"/admin/trades/{model}/").status_code == 200
        page = admin_client.get(f"/admin/trades/{model}/{pk}/change/")
        assert page.status_code == 200 and not page.context["adminform"].form.fields  # view only
        assert admin_client.post(f"/admin/trades/{model}/{pk}/change/", {}).status_code == 403
        assert admin_client.get(f"/admin/trades/{model}/add/").status_code == 403
    log = admin_client.get("/admin/trades/botcommand/?q=olga").content.decode()
    assert "stop_bot" in log and "10.0.0.7" in log


def test_decimals_show_without_their_trailing_zeros(admin_client: Client, trades: list[Trade]) -> None:
    Trade.objects.filter(pk=trades[1].pk).update(price=Decimal("3500.93"), qty=Decimal("0.001"))
    EquitySnapshot.objects.create(seq=1, taken_at=T0, equity=Decimal("10000.5"), cash=Decimal(10),
                                  realized_pnl=Decimal(0), unrealized_pnl=Decimal("-0.25"), total_pnl=Decimal("1E+1"))
    listing = admin_client.get("/admin/trades/trade/")
    cells = [[str(c) for c in row] for row in listing.context["results"]]
    assert any('class="field-price">3500.93<' in c for c in cells[1]), cells[1]
    assert any('class="field-qty">0.001<' in c for c in cells[1]), cells[1]
    assert any('class="field-realized_pnl">-2<' in c for c in cells[2]), cells[2]
    detail = admin_client.get(f"/admin/trades/trade/{trades[1].pk}/change/").content.decode()
    assert "3500.93" in detail and "0.001" in detail and "buy 0.001 BTCUSDT" not in detail
    assert "sell 0.001 BTCUSDT @ 3500.93 (trade-1)" in detail  # the record's name, in the title
    equity = admin_client.get("/admin/trades/equitysnapshot/").content.decode()
    assert ">10000.5<" in equity and ">-0.25<" in equity and ">10<" in equity
    for page in (listing.content.decode(), detail, equity):
        assert "000000000" not in page  # no column's 12 places anywhere
    assert listed(admin_client, "?o=5") == ["trade-0", "trade-2", "trade-1"]  # still sortable, by price


def staff(name: str) -> User:
    """A staff user who may view and change trades in the admin, and nothing more."""
    user = User.objects.create_user(name, password=f"pw-{name}-12345", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_trade", "change_trade"]))
    return user


def test_a_note_saved_here_goes_through_the_service_audited(admin_client: Client, trades: list[Trade]) -> None:
    url = f"/admin/trades/trade/{trades[1].pk}/change/"
    assert "never changed" in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"note": "  closed\r\ntoo early \r\n"}).status_code == 302
    change = TradeNoteChange.objects.get()
    assert (change.trade_id, change.username, change.note) == (trades[1].pk, "root", "  closed\ntoo early")
    assert Trade.objects.get(pk=trades[1].pk).note == "  closed\ntoo early"
    assert admin_client.post(url, {"note": "  closed\ntoo early"}).status_code == 302  # unchanged: nothing written
    assert TradeNoteChange.objects.count() == 1
    history = admin_client.get(url).content.decode()
    assert "Note history" in history and "by root:" in history and "closed<br>too early" in history
    # A textarea sends CRLF: a line break counts one character, as the service counts it (2,999 sent).
    longest = "a\r\n" * (NOTE_MAX_CHARS // 2 - 1) + "aa"
    assert admin_client.post(url, {"note": longest}).status_code == 302
    assert len(Trade.objects.get(pk=trades[1].pk).note) == NOTE_MAX_CHARS


def test_a_note_that_is_not_plain_text_is_refused_with_the_reason(admin_client: Client, trades: list[Trade]) -> None:
    url = f"/admin/trades/trade/{trades[0].pk}/change/"
    for note, reason in (("bell \x07", "(U+0007) is a control character"),
                         ("x" * (NOTE_MAX_CHARS + 1), "at most 2000")):
        response = admin_client.post(url, {"note": note})
        assert response.status_code == 200 and reason in str(response.context["adminform"].form.errors["note"])
    assert Trade.objects.get(pk=trades[0].pk).note == "" and not TradeNoteChange.objects.exists()


def test_the_note_is_read_only_for_who_may_not_write_that_bots_notes(trades: list[Trade]) -> None:
    url = f"/admin/trades/trade/{trades[0].pk}/change/"
    clerk = logged_in(staff("clerk"))  # may change trades in the admin, not write their notes
    assert list(clerk.get(url).context["adminform"].form.fields) == []
    assert clerk.post(url, {"note": "mine now"}).status_code == 302
    assert Trade.objects.get(pk=trades[0].pk).note == "" and not TradeNoteChange.objects.exists()
    otto = staff("otto")
    Bot.objects.create(bot_id="main").operators.add(otto)  # the trades' bot's own operator
    operator = logged_in(otto)
    assert list(operator.get(url).context["adminform"].form.fields) == ["note"]
    assert operator.post(url, {"note": "otto's"}).status_code == 302
    assert list(TradeNoteChange.objects.values_list("username", "note")) == [("otto", "otto's")]
    Trade.objects.filter(pk=trades[2].pk).update(bot_id="other")
    assert list(operator.get(f"/admin/trades/trade/{trades[2].pk}/change/").context["adminform"].form.fields) == []


def test_trades_filter_by_having_a_note_and_export_its_last_change(
    admin_client: Client, trades: list[Trade]
) -> None:
    admin_client.post(f"/admin/trades/trade/{trades[1].pk}/change/", {"note": "@SUM(1)"})
    assert listed(admin_client, "?has_note=yes") == ["trade-1"]
    assert listed(admin_client, "?has_note=no") == ["trade-2", "trade-0"]
    assert "has note" in admin_client.get("/admin/trades/trade/").content.decode()
    response = admin_client.post("/admin/trades/trade/", {
        "action": "export_csv", "_selected_action": [trades[0].pk, trades[1].pk]})
    rows = [dict(zip(*pair, strict=True)) for pair in _pairs(response.content.decode())]
    assert [(r["trade_id"], r["note"], r["note_changed_by"]) for r in rows] == [
        ("trade-1", "'@SUM(1)", "root"), ("trade-0", "", "")]
    assert rows[0]["note_changed_at"] == TradeNoteChange.objects.get().changed_at.isoformat()


def _pairs(text: str) -> list[tuple[list[str], list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [(rows[0], row) for row in rows[1:]]


def test_a_long_history_shows_its_newest_changes_and_links_to_every_one(
    admin_client: Client, trades: list[Trade]
) -> None:
    root = User.objects.get(username="root")
    TradeNoteChange.objects.bulk_create([
        TradeNoteChange(trade=trades[0], user=root, username="root", changed_at=T0 + timedelta(minutes=n), note=f"v{n}")
        for n in range(25)] + [TradeNoteChange(trade=trades[1], username="x", changed_at=T0, note="other trade")])
    page = admin_client.get(f"/admin/trades/trade/{trades[0].pk}/change/").content.decode()
    assert page.count("by root:") == 20 and "v24" in page and "v4<" not in page
    link = f"/admin/trades/tradenotechange/?trade__id__exact={trades[0].pk}"
    assert f'href="{link}"' in page
    assert len(admin_client.get(link).context["cl"].result_list) == 25


def test_the_notes_audit_is_read_only(admin_client: Client, trades: list[Trade]) -> None:
    admin_client.post(f"/admin/trades/trade/{trades[0].pk}/change/", {"note": "kept"})
    change = TradeNoteChange.objects.get()
    listing = admin_client.get("/admin/trades/tradenotechange/?q=root").content.decode()
    assert "kept" in listing and "trade-0" in listing
    page = admin_client.get(f"/admin/trades/tradenotechange/{change.pk}/change/")
    assert page.status_code == 200 and not page.context["adminform"].form.fields  # view only
    assert admin_client.post(f"/admin/trades/tradenotechange/{change.pk}/change/", {"note": "x"}).status_code == 403
    assert admin_client.get("/admin/trades/tradenotechange/add/").status_code == 403
    assert admin_client.post(f"/admin/trades/tradenotechange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TradeNoteChange.objects.get().note == "kept"
