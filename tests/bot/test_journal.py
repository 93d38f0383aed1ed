"""The bot's journal: seq, state, ledger and outbox survive a reopen; the outbox stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.journal import Journal
from bot_api.events import BotState, Side, TradeData


def trade(trade_id: str) -> TradeData:
    return TradeData(
        trade_id=trade_id, symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), price=Decimal("100"),
        quote_qty=Decimal("1"), fee=Decimal("0.001"), fee_asset="USDT", realized_pnl=Decimal("-0.001"),
        executed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    assert (journal.last_seq(), journal.state(), journal.ledger()) == (0, None, [])
    journal.append(seq=1, type_="price_update", payload="p1")
    journal.append(seq=2, type_="trade_executed", payload="t2", trade=trade("a"))
    journal.append(seq=3, type_="status_change", payload="s3", state=BotState.STOPPED)
    journal.close()

    again = Journal(path)
    assert again.last_seq() == 3
    assert again.state() is BotState.STOPPED
    assert again.ledger() == [trade("a")] and again.trade_ids() == ["a"]
    assert [(r.seq, r.type, r.payload) for r in again.pending()] == [
        (1, "price_update", "p1"), (2, "trade_executed", "t2"), (3, "status_change", "s3")
    ]
    again.published(2)
    assert [r.seq for r in again.pending()] == [3]
    again.close()


def test_seq_only_moves_forward(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.append(seq=5, type_="price_update", payload="p")
    journal.advance_seq(3)
    assert journal.last_seq() == 5
    journal.advance_seq(9)
    assert journal.last_seq() == 9


def test_outbox_limit_drops_the_oldest_price_updates_first(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    for seq in range(1, 11):
        kind = "trade_executed" if seq in (2, 5) else "price_update"
        journal.append(seq=seq, type_=kind, payload=str(seq), trade=trade(f"t{seq}") if seq in (2, 5) else None)
    assert journal.enforce_limit(limit=6) == 4
    assert [r.seq for r in journal.pending()] == [2, 5, 7, 8, 9, 10]
    assert journal.enforce_limit(limit=6) == 0
