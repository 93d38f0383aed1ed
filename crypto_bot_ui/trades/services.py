"""Writes to the records: the bots, trades, equity points, the command audit log and journal notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from bot_api.errors import TransportError
from bot_api.events import BotControlEvent, EquitySnapshotEvent, TradeExecutedEvent
from bot_api.models import utcnow
from bot_api.registry import retire_blocking
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis
from crypto_bot_ui.trades.models import Bot, BotCommand, CommandStatus, DeadLetter, EquitySnapshot, Trade


def note_bots(*, bot_ids: Sequence[str]) -> int:
    """Make sure each bot seen in the registry has its row, and that none of them is marked
    retired (a retired bot that runs again is back on the list); return how many rows were new."""
    wanted = set(bot_ids)
    if not wanted:
        return 0
    with transaction.atomic():
        known = set(Bot.objects.filter(bot_id__in=wanted).values_list("bot_id", flat=True))
        # ignore_conflicts: another recorder process may note the same new bot at the same moment.
        Bot.objects.bulk_create([Bot(bot_id=bot_id) for bot_id in sorted(wanted - known)], ignore_conflicts=True)
        Bot.objects.filter(bot_id__in=wanted, retired_at__isnull=False).update(retired_at=None)
    return len(wanted - known)


@dataclass(frozen=True)
class RetireResult:
    """What became of one bot an admin asked to retire."""

    bot_id: str
    retired: bool
    message: str


def retire_bots(*, bot_ids: Sequence[str]) -> list[RetireResult]:
    """Remove offline bots from the registry and mark their rows retired; a bot that is online (or
    that Redis cannot be asked about) is left as it is, with the reason. Records are kept."""
    results = []
    for bot_id in bot_ids:
        try:
            removed = retire_blocking(sync_redis(), bot_keys(), bot_id)
        except TransportError as exc:
            results.append(RetireResult(bot_id, retired=False, message=f"{bot_id}: not retired, Redis: {exc}"))
            continue
        if not removed:
            results.append(RetireResult(bot_id, retired=False, message=(
                f"{bot_id}: not retired, it is online (stop its process first: it would list itself again "
                "within a second)")))
            continue
        Bot.objects.filter(bot_id=bot_id).update(retired_at=utcnow())
        results.append(RetireResult(bot_id, retired=True, message=f"{bot_id}: removed from the bot list"))
    return results


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
            fee_quote=event.data.fee_quote,
            realized_pnl=event.data.realized_pnl,
            reason=event.data.reason[:200],
            executed_at=event.data.executed_at,
        )
        for event in events
    ]
    if not rows:
        return RecordResult(received=0, created=0)
    with transaction.atomic():
        # One lookup of what is already stored; the unique constraint still guards against a
        # concurrent recorder (ignore_conflicts), so `created` can only over-count in that race.
        stored = set(
            Trade.objects.filter(bot_id__in={r.bot_id for r in rows}, trade_id__in={r.trade_id for r in rows})
            .values_list("bot_id", "trade_id")
        )
        fresh = {(r.bot_id, r.trade_id): r for r in rows if (r.bot_id, r.trade_id) not in stored}
        Trade.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
    return RecordResult(received=len(rows), created=len(fresh))


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


def record_command(
    *, bot_id: str, command_id: str, command: str, user_id: int | None, username: str, address: str | None,
    issued_at: datetime, symbol: str = "", close_positions: bool = False,
) -> bool:
    """Log a command as sent (pending); False (nothing written) if its id is already in the log."""
    _, created = BotCommand.objects.get_or_create(
        bot_id=bot_id, command_id=command_id, refused=False,
        defaults={"command": command, "user_id": user_id, "username": username, "address": address,
                  "issued_at": issued_at, "symbol": symbol, "close_positions": close_positions},
    )
    return created


def record_refusal(
    *, bot_id: str, command_id: str, command: str, user_id: int | None, username: str, address: str | None,
    issued_at: datetime, error: str, symbol: str = "", close_positions: bool = False,
) -> None:
    """Log a command the web process refused before it reached the bot (a viewer's, or with the
    bot offline): audited like any other, but its id stays free for a command that may follow."""
    BotCommand.objects.create(
        bot_id=bot_id, command_id=command_id, command=command, user_id=user_id, username=username,
        address=address, issued_at=issued_at, symbol=symbol, close_positions=close_positions, refused=True,
        status=CommandStatus.ERROR, error=error[:32], detail="refused by the web process", answered_at=utcnow(),
    )


def record_command_result(
    *, bot_id: str, command_id: str, command: str, ok: bool, error: str | None, detail: str | None,
    answered_at: datetime,
) -> None:
    """Store a command's outcome; a command nobody logged as sent (another client) gets a row too."""
    outcome = {"status": CommandStatus.OK if ok else CommandStatus.ERROR, "error": (error or "")[:32],
               "detail": (detail or "")[:300], "answered_at": answered_at}
    with transaction.atomic():
        updated = BotCommand.objects.filter(bot_id=bot_id, command_id=command_id, refused=False).update(**outcome)
        if not updated:
            BotCommand.objects.get_or_create(
                bot_id=bot_id, command_id=command_id, refused=False,
                defaults={"command": command[:32], "issued_at": answered_at, **outcome},
            )


def record_command_results(*, events: Sequence[BotControlEvent]) -> int:
    """Store the outcomes the bot reported (read from its durable stream); return how many."""
    for event in events:
        record_command_result(
            bot_id=event.bot, command_id=event.data.id, command=event.data.command, ok=event.data.ok,
            error=event.data.error, detail=event.data.detail, answered_at=event.ts,
        )
    return len(events)


DEAD_PAYLOAD_CHARS = 65_536
"""The most of a dead entry kept in the database (the dead-letter stream holds it whole)."""


def record_dead_letter(*, bot_id: str, entry_id: str, reason: str, payload: str) -> None:
    """Keep an entry the recorder gave up on, once per entry, for the admin."""
    DeadLetter.objects.get_or_create(
        bot_id=bot_id, entry_id=entry_id[:48],
        defaults={"reason": reason[:300], "payload": payload[:DEAD_PAYLOAD_CHARS]},
    )


def set_trade_note(*, trade: Trade, note: str) -> Trade:
    """Replace a trade's journal note (the only thing about a trade a person may change)."""
    trade.note = note[:2000]
    trade.save(update_fields=["note"])
    return trade
