"""The Telegram bot's answers, as plain text (pure: from a bot's status, the overview, stored trades)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot_api.events import BotSummaryData, StatusData
from crypto_bot_ui.notify.compose import money, signed

HELP = (
    "/status [bot] - state and P&L\n"
    "/profit [bot] - realized, unrealized, today, win rate\n"
    "/positions [bot] - open positions\n"
    "/trades [bot] - the last 10 trades\n"
    "/bots - every bot\n"
    "/start [bot], /stop [bot], /stopclose [bot] - for operators, with a confirmation"
)
"""What the bot answers to /help."""


def status_text(bot_id: str, status: StatusData, *, online: bool) -> str:
    """State, mode, strategy, P&L and equity of one bot."""
    marks, quote = status.marks, status.quote_asset
    state = status.state.value + (f" ({status.reason})" if status.reason else "")
    lines = [f"{bot_id}: {state}" + ("" if online else " - process offline"),
             f"{status.mode}, {status.strategy} on {', '.join(status.symbols)}"]
    if marks is not None:
        lines.append(f"P&L {signed(marks.total)} {quote} (realized {signed(marks.realized)}, "
                     f"unrealized {signed(marks.unrealized)})")
        lines.append(f"Equity {money(marks.equity)} {quote}, cash {money(marks.cash)} {quote}")
    else:
        lines.append(f"P&L {signed(status.pnl.total)} {quote}, equity {money(status.equity)} {quote}")
    if status.exchange is not None and status.exchange.offline:
        lines.append("Exchange offline: no new orders until it answers")
    return "\n".join(lines)


def profit_text(bot_id: str, status: StatusData) -> str:
    """Realized, unrealized, total, today and the closed trades' figures."""
    marks, stats, quote = status.marks, status.stats, status.quote_asset
    lines = [f"{bot_id} profit ({quote})"]
    if marks is not None:
        lines += [f"Realized {signed(marks.realized)}", f"Unrealized {signed(marks.unrealized)}",
                  f"Total {signed(marks.total)}"]
        if marks.today is not None:
            lines.append(f"Today {signed(marks.today)}")
    else:
        lines += [f"Realized {signed(status.pnl.realized)}", f"Unrealized {signed(status.pnl.unrealized)}",
                  f"Total {signed(status.pnl.total)}"]
    if stats is not None and stats.closed_trades:
        rate = (stats.win_rate or Decimal(0)) * 100
        lines.append(f"Closed trades {stats.closed_trades}: {stats.wins} won ({rate:.0f}%), fees {money(stats.fees)}")
        if stats.profit_factor is not None:
            lines.append(f"Profit factor {stats.profit_factor:.2f}")
    else:
        lines.append("No closed trade yet")
    return "\n".join(lines)


def positions_text(bot_id: str, status: StatusData) -> str:
    """Each open position with its entry, mark and unrealized P&L."""
    if not status.positions:
        return f"{bot_id}: no open position"
    lines = [f"{bot_id}: {len(status.positions)} open position(s)"]
    for position in status.positions:
        lines.append(f"{position.symbol} {money(position.qty, 0)} @ {money(position.avg_entry)}, "
                     f"now {money(position.mark_price)}, {signed(position.unrealized_pnl)} {status.quote_asset}")
    return "\n".join(lines)


def trades_text(bot_id: str, trades: Sequence[tuple[str, str, Decimal, Decimal, Decimal, str]]) -> str:
    """The last trades: (time, side, qty, price, realized, symbol) each, newest first."""
    if not trades:
        return f"{bot_id}: no trade recorded yet"
    lines = [f"{bot_id}: last {len(trades)} trade(s)"]
    for at, side, qty, price, realized, symbol in trades:
        line = f"{at} {side} {money(qty, 0)} {symbol} at {money(price)}"
        lines.append(line + (f", {signed(realized)}" if side == "sell" else ""))
    return "\n".join(lines)


def bots_text(overview: Sequence[tuple[str, BotSummaryData]]) -> str:
    """Every bot: online, state and total P&L."""
    if not overview:
        return "No bot has announced itself yet."
    lines = []
    for bot_id, summary in overview:
        state = summary.state.value if summary.state else "no status yet"
        total = f", {signed(summary.pnl.total)} {summary.quote_asset or ''}".rstrip() if summary.pnl else ""
        lines.append(f"{'●' if summary.online else '○'} {bot_id}: {state}{total}")
    return "\n".join(lines)
