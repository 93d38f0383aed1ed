"""Writes to trade records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from bot_api.events import EquitySnapshotEvent, TradeExecutedEvent
from crypto_bot_ui.trades.models import EquitySnapshot, Trade


@dataclass(frozen=True)
class RecordResult:
    """How many of the given trades were new (the rest were already stored)."""

    received: int
    created: int


def record_trades(*, events: Sequence[TradeExecutedEvent]) -> RecordResult:
    """Store trades idempotently in one transaction; duplicates (same bot + trade id) are ignored."""
    rows = [
        Trade(
            bot_id=event.bot,
            trade_id=event.data.trade_id,
            order_id=event.data.order_id or "",
            seq=event.seq,
            symbol=event.data.symbol,
            side=event.data.side.value,
            qty=event.data.qty,
            price=event.data.price,
            quote_qty=event.data.quote_qty,
            fee=event.data.fee,
            fee_asset=event.data.fee_asset,
            realized_pnl=event.data.realized_pnl,
            reason=event.data.reason[:200],
            executed_at=event.data.executed_at,
        )
        for event in events
    ]
    if not rows:
        return RecordResult(received=0, created=0)
    with transaction.atomic():
        keys = [(row.bot_id, row.trade_id) for row in rows]
        before = _count_existing(keys)
        Trade.objects.bulk_create(rows, ignore_conflicts=True)
        after = _count_existing(keys)
    return RecordResult(received=len(rows), created=after - before)


def _count_existing(keys: list[tuple[str, str]]) -> int:
    bots = {bot for bot, _ in keys}
    ids = {trade_id for _, trade_id in keys}
    return Trade.objects.filter(bot_id__in=bots, trade_id__in=ids).count()


def record_equity_snapshots(*, events: Sequence[EquitySnapshotEvent]) -> int:
    """Store equity points idempotently (unique per bot and seq); return how many were offered."""
    rows = [
        EquitySnapshot(
            bot_id=event.bot,
            seq=event.seq or 0,
            taken_at=event.ts,
            equity=event.data.equity,
            cash=event.data.cash,
            realized_pnl=event.data.pnl.realized,
            unrealized_pnl=event.data.pnl.unrealized,
            total_pnl=event.data.pnl.total,
        )
        for event in events
    ]
    if rows:
        EquitySnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
