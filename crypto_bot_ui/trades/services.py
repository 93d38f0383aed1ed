"""Writes to the records: the bots, trades, equity points, the command audit log and journal notes."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction

from bot_api.errors import TransportError
from bot_api.events import BotControlEvent, EquitySnapshotEvent, TradeExecutedEvent
from bot_api.models import utcnow
from bot_api.registry import retire_blocking
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis
from crypto_bot_ui.core.roles import can_note
from crypto_bot_ui.trades.errors import NoteError
from crypto_bot_ui.trades.models import (
    NOTE_MAX_CHARS,
    Bot,
    BotCommand,
    CommandStatus,
    DeadLetter,
    EquitySnapshot,
    Trade,
    TradeNoteChange,
)


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
            fee_in_quote=event.data.fee_in_quote(),
            realized_pnl=event.data.realized_pnl,
            reason=event.data.reason[:200],
            strategy=event.data.strategy,
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
        date_openings(trades=list(fresh.values()))
    return RecordResult(received=len(rows), created=len(fresh))


def date_openings(*, trades: Sequence[Trade]) -> int:
    """Date the positions the stored `trades` belong to (Trade.opened_at); return how many rows changed.

    A buy that follows a sell (or nothing) of its bot and symbol opens a position; every later fill
    of that symbol, until the next such buy, belongs to it (a sell was held since then). From each
    symbol's earliest given trade on, its stored fills are walked in time order and re-dated: a fill
    that arrives late (a recorder that took over another's pending entries, a re-sent one) puts the
    later ones right. On PostgreSQL a lock per bot and symbol keeps two recorders from walking one
    symbol at once; SQLite lets one writer in at a time anyway.
    """
    earliest: dict[tuple[str, str], datetime] = {}
    for trade in trades:
        key = (trade.bot_id, trade.symbol)
        earliest[key] = min(trade.executed_at, earliest.get(key, trade.executed_at))
    changed: list[Trade] = []
    for (bot_id, symbol), since in sorted(earliest.items()):
        _lock_symbol(bot_id, symbol)
        fills = Trade.objects.filter(bot_id=bot_id, symbol=symbol)
        before = (fills.filter(executed_at__lt=since).order_by("-executed_at", "-id")
                  .values_list("side", "opened_at").first())
        side, opened = before if before is not None else (None, None)
        for row in fills.filter(executed_at__gte=since).order_by("executed_at", "id").only("side", "executed_at",
                                                                                            "opened_at"):
            if row.side == "buy" and side != "buy":
                opened = row.executed_at
            side = row.side
            if row.opened_at != opened:
                row.opened_at = opened
                changed.append(row)
    Trade.objects.bulk_update(changed, ["opened_at"], batch_size=1000)
    return len(changed)


def _lock_symbol(bot_id: str, symbol: str) -> None:
    """Hold a lock on one bot's symbol until the transaction ends (PostgreSQL; a no-op elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"opened:{bot_id}:{symbol}"])


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


def normalised_note(note: str) -> str:
    """The note as it is stored (CRLF line breaks as LF, no trailing white space), or NoteError:
    `too_long` beyond NOTE_MAX_CHARS characters, `invalid_note` unless plain text (no control
    character but line break and tab: no terminal escapes, no NUL, which PostgreSQL refuses)."""
    text = note.replace("\r\n", "\n").rstrip()
    if len(text) > NOTE_MAX_CHARS:
        raise NoteError("too_long", f"the note is {len(text)} characters long: at most {NOTE_MAX_CHARS}")
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category == "Cc" and char not in "\n\t":
            raise NoteError("invalid_note", (f"a note is plain text: character {position} (U+{ord(char):04X}) is a "
                                             "control character; only line breaks and tabs may be used"))
        if category == "Cs":  # a lone surrogate (JSON can carry one): no database stores it as UTF-8
            raise NoteError("invalid_note", (f"a note is plain text: character {position} (U+{ord(char):04X}) is "
                                             "half of a character (a lone surrogate)"))
    return text


def set_trade_note(*, trade: Trade, note: str, user: AbstractBaseUser | None, at: datetime | None = None) -> Trade:
    """Write a trade's journal note as `user`, audited: the note and its TradeNoteChange (who, when,
    what it became) in one transaction; an unchanged note writes nothing. NoteError `forbidden`
    unless the user may write that bot's notes (`can_note`, read afresh), else as `normalised_note`."""
    if user is None or not can_note(user.pk, trade.bot_id):
        raise NoteError("forbidden", (
            f"you may not write notes on bot {trade.bot_id}'s trades: an admin can add you to the "
            "Operators group or to this bot's operators"))
    text = normalised_note(note)
    with transaction.atomic():
        # Compared with the stored note, locked, not with the caller's copy: the admin's form has
        # already put the new text on it, and two writers must not both see "changed".
        stored = Trade.objects.select_for_update().values_list("note", flat=True).get(pk=trade.pk)
        if stored != text:
            Trade.objects.filter(pk=trade.pk).update(note=text)
            TradeNoteChange.objects.create(trade_id=trade.pk, user=user, username=user.get_username(),
                                           changed_at=at or utcnow(), note=text)
    trade.note = text
    return trade
