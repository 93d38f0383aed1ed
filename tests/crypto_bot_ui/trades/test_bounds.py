"""The contract admits only amounts the database stores and reads back (an attack run stored 1E+40
in SQLite, after which the API answered 500 and the CSV export hung)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from pydantic import ValidationError

from bot_api.errors import ContractError
from bot_api.events import (
    EquityData,
    EquitySnapshotEvent,
    PnlData,
    Side,
    TradeData,
    TradeExecutedEvent,
    parse_event,
)
from bot_api.models import MONEY_DIGITS, MONEY_LIMIT, MONEY_PLACES
from crypto_bot_ui.trades.models import COLUMN_LIMIT, EQUITY_MONEY, TRADE_MONEY, DeadLetter, EquitySnapshot, Trade
from crypto_bot_ui.trades.services import record_equity_snapshots, record_trades

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LARGEST = Decimal("999999999999999999.999999999999")  # 30 digits: beyond the default context's 28


def trade(amount: Decimal, trade_id: str = "big") -> TradeExecutedEvent:
    return TradeExecutedEvent(seq=1, data=TradeData(
        trade_id=trade_id, symbol="BTCUSDT", side=Side.SELL, qty=amount, price=amount, quote_qty=amount,
        fee=amount, fee_asset="USDT", realized_pnl=amount.copy_negate(), executed_at=T0,
    ))


def equity(amount: Decimal) -> EquitySnapshotEvent:
    return EquitySnapshotEvent(seq=2, ts=T0, data=EquityData(
        equity=amount, cash=amount.copy_negate(),
        pnl=PnlData(realized=amount, unrealized=amount.copy_negate(), total=amount)))


def test_the_contract_and_the_columns_declare_the_same_money() -> None:
    fields = [Trade._meta.get_field(name) for name in TRADE_MONEY]
    fields += [EquitySnapshot._meta.get_field(name) for name in EQUITY_MONEY]
    for field in fields:
        assert (field.max_digits, field.decimal_places) == (MONEY_DIGITS, MONEY_PLACES), field  # type: ignore[attr-defined]
    assert Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES) == COLUMN_LIMIT
    assert MONEY_LIMIT < COLUMN_LIMIT  # headroom for SQLite's floats
    assert LARGEST.next_plus() == MONEY_LIMIT or LARGEST + Decimal("1e-12") == MONEY_LIMIT
    # Every money field of the stored records is bounded by the contract (the fee's value in the
    # quote asset is derived from it, and the contract bounds that too).
    assert set(TRADE_MONEY) - {"fee_in_quote"} <= set(TradeData.model_fields)
    with pytest.raises(ValidationError, match="fee's value"):
        TradeData(trade_id="t", symbol="BTCUSDT", side=Side.SELL, qty=Decimal(1), price=Decimal("1e17"),
                  quote_qty=Decimal(1), fee=Decimal(100), fee_asset="BTC", realized_pnl=Decimal(0), executed_at=T0)


@pytest.mark.parametrize("value", ["1E+40", "-1E+40", "1E+18", "-1000000000000000000", "1e400"])
def test_amounts_the_database_cannot_hold_are_refused_at_the_contract(value: str) -> None:
    good = trade(Decimal(1)).model_dump_json()
    for field in ('"qty":"1"', '"realized_pnl":"-1"', '"fee":"1"'):
        name = field.split(":")[0]
        with pytest.raises(ContractError) as info:
            parse_event(good.replace(field, f'{name}:"{value}"'))
        assert info.value.code == "invalid_event"
        assert "below 1E+18" in info.value.message or "finite" in info.value.message  # 1e400: a float infinity
    with pytest.raises(ValueError, match=r"1E|finite"):
        equity(Decimal(value))




async def collect(response: Any) -> str:
    """The body of a streamed response (an async stream, as the ASGI server sends it)."""
    return b"".join([chunk async for chunk in response.streaming_content]).decode()


@pytest.mark.db
@pytest.mark.django_db(transaction=True)  # the stream reads in another thread: the rows must be committed
def test_the_largest_admitted_amounts_are_stored_and_served(client: Client) -> None:
    assert record_trades(events=[trade(LARGEST), trade(Decimal("0.000000000001"), "tiny")]).created == 2
    assert record_equity_snapshots(events=[equity(LARGEST)]) == 1
    client.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    exact = connection.vendor == "postgresql"  # SQLite keeps a float (about 16 digits)
    stored = Trade.objects.get(trade_id="big")
    assert stored.qty == LARGEST if exact else abs(stored.qty - LARGEST) / LARGEST < Decimal("1e-15")
    for path in ("/api/trades", "/api/equity", "/admin/trades/trade/", "/admin/trades/equitysnapshot/",
                 f"/admin/trades/trade/{stored.pk}/change/"):
        assert client.get(path).status_code == 200, path
    rows = list(csv.reader(io.StringIO(asyncio.run(collect(client.get("/api/trades.csv"))))))
    assert len(rows) == 3 and rows[-1][1] in ("big", "tiny")


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_a_csv_export_that_fails_part_way_ends_saying_so(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header is out already: the file must end (never hang) and say it is incomplete."""
    record_trades(events=[trade(Decimal(1))])
    client.force_login(User.objects.create_user("vera", password="pw-vera-12345"))

    def broken(row: Any) -> list[str]:
        raise ArithmeticError("decimal.InvalidOperation")

    monkeypatch.setattr("crypto_bot_ui.api.views.csv_row", broken)
    body = asyncio.run(collect(client.get("/api/trades.csv")))
    assert body.splitlines()[-1].startswith("# export incomplete")


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_rows_stored_out_of_range_before_the_bound_move_to_the_dead_letters() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("trades", "0007_dead_letters")])
    try:
        if connection.vendor == "sqlite":  # PostgreSQL's column never took such a value
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO trades_trade (bot_id, trade_id, order_id, symbol, side, qty, price, quote_qty, fee,"
                    " fee_asset, realized_pnl, reason, executed_at, recorded_at, note) VALUES ('main', 'huge', '',"
                    " 'BTCUSDT', 'buy', 1e40, 1, 1, 0, 'USDT', 0, '', %s, %s, '')", [T0.isoformat(), T0.isoformat()])
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    if connection.vendor == "sqlite":
        letter = DeadLetter.objects.get()
        assert letter.entry_id.startswith("trade:") and "huge" in letter.payload and "migration 0008" in letter.reason
    assert not Trade.objects.filter(trade_id="huge").exists()


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_a_fee_paid_in_a_third_asset_keeps_its_quote_value(client: Client) -> None:
    """A fee paid in BNB is worth something in USDT: the event says how much, and so must the record."""
    bnb = TradeExecutedEvent(seq=3, data=TradeData(
        trade_id="bnb-fee", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), price=Decimal(70000),
        quote_qty=Decimal(700), fee=Decimal("0.00125"), fee_asset="BNB", fee_quote=Decimal("0.75"),
        realized_pnl=Decimal(0), executed_at=T0,
    ))
    record_trades(events=[bnb, trade(Decimal(1), "usdt-fee")])
    assert Trade.objects.get(trade_id="bnb-fee").fee_quote == Decimal("0.75")
    client.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    by_id = {t["trade_id"]: t for t in client.get("/api/trades").json()["results"]}
    assert by_id["bnb-fee"]["fee_quote"] == "0.75" and by_id["usdt-fee"]["fee_quote"] is None
    rows = list(csv.DictReader(io.StringIO(asyncio.run(collect(client.get("/api/trades.csv"))))))
    assert {r["trade_id"]: r["fee_quote"] for r in rows} == {"bnb-fee": "0.75", "usdt-fee": ""}
    for trade_id in ("bnb-fee", "usdt-fee"):
        pk = Trade.objects.get(trade_id=trade_id).pk
        assert client.get(f"/admin/trades/trade/{pk}/change/").status_code == 200
