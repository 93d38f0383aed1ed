"""Reads of the records: trades with filters, the equity curve, trades as CSV rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet

from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import EquitySnapshot, Trade

CSV_COLUMNS = (
    "executed_at", "trade_id", "order_id", "symbol", "side", "qty", "price", "quote_qty", "fee", "fee_asset",
    "fee_quote", "realized_pnl", "reason", "note",
)
"""The CSV export's columns, in order (the admin's export and /api/trades.csv share them)."""


def trade_list(*, bot_id: str) -> QuerySet[Trade]:
    """One bot's trades, newest first."""
    return Trade.objects.filter(bot_id=bot_id).order_by("-executed_at", "-id")


def has_traded(*, bot_id: str, symbol: str) -> bool:
    """Whether one bot has any stored trade of `symbol`."""
    return Trade.objects.filter(bot_id=bot_id, symbol=symbol).exists()


def traded_symbols(*, bot_id: str) -> list[str]:
    """The symbols of one bot's stored trades, sorted."""
    return list(Trade.objects.filter(bot_id=bot_id).order_by("symbol").values_list("symbol", flat=True).distinct())


def equity_curve(*, bot_id: str, since: datetime | None = None, limit: int = 1000) -> list[EquitySnapshot]:
    """The last `limit` equity points (after `since`), oldest first."""
    points = EquitySnapshot.objects.filter(bot_id=bot_id)
    if since is not None:
        points = points.filter(taken_at__gte=since)
    return list(reversed(points.order_by("-taken_at", "-seq")[:limit]))


def csv_rows(trades: Iterable[Trade]) -> Iterator[list[str]]:
    """The header, then one row per trade."""
    yield list(CSV_COLUMNS)
    for trade in trades:
        yield csv_row(trade)


def csv_row(trade: Trade) -> list[str]:
    """One trade: money as exact decimal strings, times in ISO-8601 UTC, every text made inert."""
    return [
        trade.executed_at.isoformat(), *(_inert(t) for t in (trade.trade_id, trade.order_id, trade.symbol, trade.side)),
        *(plain(getattr(trade, f)) for f in ("qty", "price", "quote_qty", "fee")),
        _inert(trade.fee_asset), "" if trade.fee_quote is None else plain(trade.fee_quote),
        plain(trade.realized_pnl), _inert(trade.reason), _inert(trade.note),
    ]


FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""What makes a spreadsheet cell a formula: = + - @ and their full-width forms (some spreadsheets
fold those)."""
IGNORED_LEAD = frozenset(" \t\r\n\u00a0\u200b\u200c\u200d\u2060\ufeff")
"""Characters a spreadsheet skips before looking for a formula: blanks, tabs, line breaks and the
zero-width ones."""


def _inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula: one whose first visible character would start
    one (after any blanks or zero-width characters) gets a leading quote, which spreadsheets show
    as text. Money columns are numbers and are never touched."""
    visible = text.lstrip("".join(IGNORED_LEAD))
    if visible[:1] in FORMULA_START or text[:1] in ("\t", "\r"):
        return "'" + text
    return text
