"""Journal notes: plain text of a bounded length, written only by who may write that bot's notes, each
change audited (who, when, what it became) in the same transaction; the trades' reads carry the last
change, and the CSV its new columns at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from crypto_bot_ui.trades.errors import NoteError, TradesError
from crypto_bot_ui.trades.models import NOTE_MAX_CHARS, Bot, Trade, TradeNoteChange
from crypto_bot_ui.trades.selectors import CSV_COLUMNS, csv_row, trade_list, trade_of, with_note
from crypto_bot_ui.trades.services import normalised_note, set_trade_note
from tests.conftest import make_operator

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def a_trade(n: int = 1, *, bot: str = "main", note: str = "") -> Trade:
    return Trade.objects.create(
        bot_id=bot, trade_id=f"t{n}", symbol="BTCUSDT", side="buy", qty=Decimal("0.5"), price=Decimal(100),
        quote_qty=Decimal(50), fee=Decimal("0.05"), fee_asset="USDT", fee_in_quote=Decimal("0.05"),
        realized_pnl=Decimal(0), strategy="sma_cross", note=note, executed_at=T0 + timedelta(minutes=n),
    )


@pytest.fixture
def olga() -> User:
    """An operator: in the Operators group."""
    user = User.objects.create_user("olga")
    make_operator(user)
    return user


def refusal(note: str) -> NoteError:
    with pytest.raises(NoteError) as caught:
        normalised_note(note)
    return caught.value


def test_a_note_is_plain_text_kept_as_written_but_for_line_ends_and_trailing_blanks() -> None:
    assert normalised_note("  bought the dip\r\n\tthen waited  \r\n\n ") == "  bought the dip\n\tthen waited"
    kept = "ça monte 📈, 👩\u200d💻 z\u200dw\u202e"  # letters, emoji, joiners and other formats: not controls
    assert normalised_note(kept) == kept
    assert normalised_note("x" * NOTE_MAX_CHARS) == "x" * NOTE_MAX_CHARS
    assert normalised_note("x" * NOTE_MAX_CHARS + "   \n") == "x" * NOTE_MAX_CHARS  # trailing blanks do not count
    assert normalised_note("a\r\n" * (NOTE_MAX_CHARS // 2)) == ("a\n" * (NOTE_MAX_CHARS // 2)).rstrip()
    assert normalised_note("") == "" and normalised_note(" \n ") == ""


def test_a_note_too_long_or_with_control_characters_is_refused_with_the_reason() -> None:
    long = refusal("x" * (NOTE_MAX_CHARS + 1))
    assert (long.code, long.message) == ("too_long", f"the note is 2001 characters long: at most {NOTE_MAX_CHARS}")
    escape = refusal("red \x1b[31m alert")
    assert escape.code == "invalid_note"
    assert escape.message == ("a note is plain text: character 5 (U+001B) is a control character; only line breaks "
                              "and tabs may be used")
    for bad in ("\x00", "a\rb", "\x07", "\x7f", "\x85", "\ud800"):
        assert refusal(f"note {bad} here").code == "invalid_note", repr(bad)
    assert "lone surrogate" in refusal("\udfff").message
    assert isinstance(long, TradesError)  # the records' one root


def test_an_operator_writes_a_note_and_the_change_is_audited(olga: User) -> None:
    trade = a_trade()
    at = T0 + timedelta(days=1)
    written = set_trade_note(trade=trade, note="closed too early\r\n", user=olga, at=at)
    assert written.note == "closed too early"
    assert Trade.objects.get(pk=trade.pk).note == "closed too early"
    change = TradeNoteChange.objects.get()
    assert (change.trade_id, change.user, change.username, change.changed_at, change.note) == (
        trade.pk, olga, "olga", at, "closed too early")
    set_trade_note(trade=trade, note="", user=olga)  # clearing it is a change too
    assert Trade.objects.get(pk=trade.pk).note == "" and TradeNoteChange.objects.count() == 2
    olga.delete()
    assert list(TradeNoteChange.objects.values_list("user", "username")) == [(None, "olga"), (None, "olga")]


def test_the_same_note_again_writes_nothing(olga: User) -> None:
    trade = a_trade()
    set_trade_note(trade=trade, note="patient", user=olga)
    trade.note = "what a form put on it"  # compared with the stored note, not the caller's copy
    set_trade_note(trade=trade, note="patient  \r\n", user=olga)
    assert TradeNoteChange.objects.count() == 1 and trade.note == "patient"


def test_who_may_not_write_the_bots_notes_is_refused_and_nothing_is_written() -> None:
    viewer = User.objects.create_user("vera")
    ann = User.objects.create_user("ann")
    Bot.objects.create(bot_id="eth").operators.add(ann)
    main, eth = a_trade(1, note="as it was"), a_trade(2, bot="eth")
    for user, trade in ((viewer, main), (None, main), (ann, main)):
        with pytest.raises(NoteError) as caught:
            set_trade_note(trade=trade, note="mine now", user=user)
        assert caught.value.code == "forbidden"
        assert caught.value.message == ("you may not write notes on bot main's trades: an admin can add you to the "
                                        "Operators group or to this bot's operators")
    set_trade_note(trade=eth, note="ann's bot", user=ann)  # a bot's own operator, on that bot
    assert list(Trade.objects.order_by("trade_id").values_list("note", flat=True)) == ["as it was", "ann's bot"]
    assert list(TradeNoteChange.objects.values_list("trade__trade_id", "username")) == [("t2", "ann")]


def test_the_operators_group_holds_the_note_permission_from_its_migration() -> None:
    codenames = set(Group.objects.get(name="Operators").permissions.values_list("codename", flat=True))
    assert {"control_bot", "change_trade_note"} <= codenames


def test_an_invalid_note_writes_nothing(olga: User) -> None:
    trade = a_trade(note="as it was")
    for bad in ("x" * (NOTE_MAX_CHARS + 1), "bell \x07"):
        with pytest.raises(NoteError):
            set_trade_note(trade=trade, note=bad, user=olga)
    assert Trade.objects.get(pk=trade.pk).note == "as it was" and not TradeNoteChange.objects.exists()


def test_the_note_and_its_audit_are_one_transaction(olga: User, monkeypatch: pytest.MonkeyPatch) -> None:
    trade = a_trade(note="as it was")

    def refused(**fields: object) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(TradeNoteChange.objects, "create", refused)
    with pytest.raises(DatabaseError):
        set_trade_note(trade=trade, note="new", user=olga)
    assert Trade.objects.get(pk=trade.pk).note == "as it was"  # no note without its audit row


def test_the_trade_list_carries_each_notes_last_change_in_a_fixed_number_of_queries(olga: User) -> None:
    trades = [a_trade(n) for n in range(1, 4)]
    set_trade_note(trade=trades[0], note="first", user=olga, at=T0 + timedelta(hours=2))
    ann = User.objects.create_superuser("ann")
    set_trade_note(trade=trades[0], note="second", user=ann, at=T0 + timedelta(hours=3))
    set_trade_note(trade=trades[1], note="late, written early", user=ann, at=T0 + timedelta(hours=5))
    set_trade_note(trade=trades[1], note="early, written late", user=olga, at=T0 + timedelta(hours=4))
    listed = {t.trade_id: (t.note_changed_by, t.note_changed_at) for t in trade_list(bot_id=None)}
    assert listed == {"t1": ("ann", T0 + timedelta(hours=3)), "t2": ("ann", T0 + timedelta(hours=5)),
                      "t3": (None, None)}  # the latest by time, whatever the order written
    assert trade_of(pk=trades[0].pk).note_changed_by == "ann"
    with CaptureQueriesContext(connection) as queries:
        assert len(list(trade_list(bot_id=None))) == 3
    assert len(queries) == 1
    assert [t.trade_id for t in with_note(trade_list(bot_id=None), noted=True)] == ["t2", "t1"]
    assert [t.trade_id for t in with_note(trade_list(bot_id=None), noted=False)] == ["t3"]


def test_the_csv_row_ends_with_strategy_fee_and_the_notes_last_change(olga: User) -> None:
    trade = a_trade(note="")
    set_trade_note(trade=trade, note="=cmd|' /C calc'!A0", user=olga, at=T0)
    row = dict(zip(CSV_COLUMNS, csv_row(trade_of(pk=trade.pk)), strict=True))
    assert CSV_COLUMNS[:15] == (
        "executed_at", "trade_id", "order_id", "symbol", "side", "qty", "price", "quote_qty", "fee", "fee_asset",
        "fee_quote", "realized_pnl", "reason", "note", "bot_id")  # as people's spreadsheets read them
    assert CSV_COLUMNS[15:] == ("strategy", "fee_in_quote", "note_changed_by", "note_changed_at")
    assert (row["note"], row["strategy"], row["fee_in_quote"], row["note_changed_by"], row["note_changed_at"]) == (
        "'=cmd|' /C calc'!A0", "sma_cross", "0.05", "olga", T0.isoformat())
    untouched = dict(zip(CSV_COLUMNS, csv_row(trade_of(pk=a_trade(2).pk)), strict=True))
    assert (untouched["note_changed_by"], untouched["note_changed_at"]) == ("", "")
