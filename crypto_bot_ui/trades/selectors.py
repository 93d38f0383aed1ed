"""Reads of the records: the bots, trades with filters and their notes' last change, the equity
curve, trades as CSV rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from redis.exceptions import RedisError

from bot_api.errors import TransportError
from bot_api.registry import BotSeen, discover_blocking
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis
from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import Bot, BotCommand, EquitySnapshot, Trade, TradeNoteChange

CSV_COLUMNS = (
    "executed_at", "trade_id", "order_id", "symbol", "side", "qty", "price", "quote_qty", "fee", "fee_asset",
    "fee_quote", "realized_pnl", "reason", "note", "bot_id",
    # Added later, so at the end: people's spreadsheets read the columns above by position.
    "strategy", "fee_in_quote", "note_changed_by", "note_changed_at",
)
"""The CSV export's columns, in order (the admin's export and /api/trades.csv share them)."""


def bot_list() -> QuerySet[Bot]:
    """The bots the records know of, by id, each with `operator_count`."""
    return Bot.objects.annotate(operator_count=Count("operators")).order_by("bot_id")


def recorded_bot_ids() -> list[str]:
    """The ids of the bots the records know (their rows, and any that traded), sorted."""
    known = set(Bot.objects.values_list("bot_id", flat=True))
    known |= set(Trade.objects.order_by().values_list("bot_id", flat=True).distinct())
    return sorted(known)


def registry_entries() -> dict[str, BotSeen] | None:
    """By bot id: what the registry in Redis says of each listed bot (last beat, online); None
    when Redis does not answer."""
    try:
        return {seen.bot_id: seen for seen in discover_blocking(sync_redis(), bot_keys())}
    except (TransportError, RedisError, OSError):
        return None


def has_records(*, bot_id: str) -> bool:
    """Whether the database knows the bot: its row, or any trade, equity point or command of it."""
    return any(model.objects.filter(bot_id=bot_id).exists() for model in (Bot, Trade, EquitySnapshot, BotCommand))


def trade_list(*, bot_id: str | None) -> QuerySet[Trade]:
    """One bot's trades (None: every bot's), newest first, each with its note's last change
    (`with_note_changes`)."""
    return with_note_changes(_trades(bot_id)).order_by("-executed_at", "-id")


def trade_of(*, pk: int) -> Trade:
    """One stored trade by its row id, as `trade_list` has it; Trade.DoesNotExist if there is none."""
    return trade_list(bot_id=None).get(pk=pk)


def with_note_changes(trades: QuerySet[Trade]) -> QuerySet[Trade]:
    """The trades, each with `note_changed_at` and `note_changed_by` (when and by whom its note last
    changed; None if never): subqueries of the one query, so a page costs the same whatever its size."""
    latest = TradeNoteChange.objects.filter(trade=OuterRef("pk")).order_by("-changed_at", "-id")
    return trades.annotate(note_changed_at=Subquery(latest.values("changed_at")[:1]),
                           note_changed_by=Subquery(latest.values("username")[:1]))


def with_note(trades: QuerySet[Trade], *, noted: bool) -> QuerySet[Trade]:
    """The trades that have a note (`noted`) or those that have none (a blank one)."""
    return trades.exclude(note="") if noted else trades.filter(note="")


def _trades(bot_id: str | None) -> QuerySet[Trade]:
    return Trade.objects.all() if bot_id is None else Trade.objects.filter(bot_id=bot_id)


def has_traded(*, bot_id: str | None, symbol: str) -> bool:
    """Whether one bot (None: any bot) has any stored trade of `symbol`."""
    return bool(_trades(bot_id).filter(symbol=symbol).exists())


def traded_symbols(*, bot_id: str | None) -> list[str]:
    """The symbols of one bot's (None: every bot's) stored trades, sorted."""
    return list(_trades(bot_id).order_by("symbol").values_list("symbol", flat=True).distinct())


def equity_curve(*, bot_id: str, since: datetime | None = None, limit: int = 1000) -> list[EquitySnapshot]:
    """The last `limit` equity points (after `since`), oldest first."""
    points = EquitySnapshot.objects.filter(bot_id=bot_id)
    if since is not None:
        points = points.filter(taken_at__gte=since)
    return list(reversed(points.order_by("-taken_at", "-seq")[:limit]))


SPARK_POINTS = 60
"""Points of each bot's equity sparkline on the overview (ten minutes at the default EQUITY_INTERVAL)."""


def equity_sparks(bot_ids: Iterable[str], *, points: int = SPARK_POINTS) -> dict[str, list[str]]:
    """By bot: its last `points` equity values, oldest first, as exact decimal strings. One query,
    however many bots (each bot's newest points numbered, the first `points` kept)."""
    wanted = list(bot_ids)
    newest = Window(RowNumber(), partition_by=[F("bot_id")], order_by=[F("taken_at").desc(), F("seq").desc()])
    rows = (EquitySnapshot.objects.filter(bot_id__in=wanted).annotate(rank=newest).filter(rank__lte=points)
            .order_by("bot_id", "taken_at", "seq").values_list("bot_id", "equity"))
    sparks: dict[str, list[str]] = {bot_id: [] for bot_id in wanted}
    for bot_id, equity in rows:
        sparks[bot_id].append(plain(equity))
    return sparks


def csv_rows(trades: Iterable[Trade]) -> Iterator[list[str]]:
    """The header, then one row per trade."""
    yield list(CSV_COLUMNS)
    for trade in trades:
        yield csv_row(trade)


def csv_row(trade: Trade) -> list[str]:
    """One trade of `trade_list` (or `with_note_changes`): money as exact decimal strings, times in
    ISO-8601 UTC, every text made inert."""
    changed_at: datetime | None = trade.note_changed_at
    return [
        trade.executed_at.isoformat(), *(inert(t) for t in (trade.trade_id, trade.order_id, trade.symbol, trade.side)),
        *(plain(getattr(trade, f)) for f in ("qty", "price", "quote_qty", "fee")),
        inert(trade.fee_asset), "" if trade.fee_quote is None else plain(trade.fee_quote),
        plain(trade.realized_pnl), inert(trade.reason), inert(trade.note), inert(trade.bot_id),
        inert(trade.strategy), plain(trade.fee_in_quote), inert(trade.note_changed_by or ""),
        "" if changed_at is None else changed_at.isoformat(),
    ]


FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""What makes a spreadsheet cell a formula: = + - @ and their full-width forms (some spreadsheets
fold those)."""
IGNORED_LEAD = frozenset(" \t\r\n\u00a0\u200b\u200c\u200d\u2060\ufeff")
"""Characters a spreadsheet skips before looking for a formula: blanks, tabs, line breaks and the
zero-width ones."""


def inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula: one whose first visible character would start
    one (after any blanks or zero-width characters) gets a leading quote, which spreadsheets show
    as text. Money columns are numbers and are never touched."""
    visible = text.lstrip("".join(IGNORED_LEAD))
    if visible[:1] in FORMULA_START or text[:1] in ("\t", "\r"):
        return "'" + text
    return text
