"""What a bot event means to a person: the notifications it makes, short and human (pure; no I/O).

Each notification has a key unique for its bot, so an event read twice makes the same key and the
database keeps one (`services.take_events`). What needs memory between events (was the exchange
offline?) comes in as `Watch` and goes out changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot_api.events import (
    BotState,
    Side,
    StatusChangeEvent,
    StatusData,
    StatusEvent,
    TradeData,
    TradeExecutedEvent,
)


@dataclass(frozen=True)
class Note:
    """A notification to be made: `key` is unique for its bot."""

    bot: str
    key: str
    kind: str
    title: str
    text: str
    occurred_at: datetime
    seq: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Watch:
    """What was last told of a bot (None: nothing yet, so the first sighting is not news)."""

    online: bool | None = None
    exchange_offline: bool | None = None


def money(value: Decimal, places: int = 2) -> str:
    """`value` with thousands separators and at least `places` decimals (more if it has them)."""
    exponent = value.normalize().as_tuple().exponent
    shown = max(places, -exponent if isinstance(exponent, int) else places)
    return f"{value:,.{min(shown, 8)}f}"


MINUS = "\u2212"
"""The typographic minus sign, as the dashboard shows a loss."""


def signed(value: Decimal, places: int = 2) -> str:
    """`value` with its sign always shown (+1.20, or a minus sign and 3.40)."""
    return ("+" if value > 0 else MINUS if value < 0 else "") + money(abs(value), places)


def trade_line(trade: TradeData, quote: str = "") -> str:
    """One line for a trade: `bought 0.0015 BTCUSDT at 65,012.30 (realized +1.23)`."""
    verb = "bought" if trade.side is Side.BUY else "sold"
    line = f"{verb} {money(trade.qty, 0)} {trade.symbol} at {money(trade.price)}"
    if trade.side is Side.SELL:
        line += f", realized {signed(trade.realized_pnl)}{(' ' + quote) if quote else ''}"
    return line


def of_trade(event: TradeExecutedEvent) -> Note:
    """A fill: what, how much, at what price, and the realized P&L of a close."""
    trade = event.data
    line = trade_line(trade)
    # Keyed by the trade's id, not its seq: a bot whose journal and Redis were both reset starts its
    # seq again, and its new trades must not pass for ones already told.
    return Note(bot=event.bot, key=f"trade:{trade.trade_id}", kind="trade", seq=event.seq,
                occurred_at=trade.executed_at,
                title=f"{event.bot}: {line}",
                text=f"Bot {event.bot} {line}" + (f". Reason: {trade.reason}" if trade.reason else "."),
                data={"trade": trade.model_dump(mode="json")})


def of_state(event: StatusChangeEvent) -> Note:
    """Started, stopped by someone, or halted by the bot itself (with its reason)."""
    change = event.data
    reason = change.reason or ""
    if change.state is BotState.RUNNING:
        word = "started"
    elif reason.startswith("stopped by"):
        word = "stopped"
    else:
        word = "halted"  # the bot stopped itself: the risk guard, an order it cannot account for
    return Note(bot=event.bot, key=f"seq:{event.seq}", kind="state", seq=event.seq, occurred_at=event.ts,
                title=f"{event.bot} {word}", text=f"Bot {event.bot} {word}" + (f": {reason}" if reason else "."),
                data={"state": change.state.value, "previous": change.previous.value, "reason": reason})


def of_status(event: StatusEvent, watch: Watch) -> tuple[list[Note], Watch]:
    """The exchange going offline or coming back (the breaker opening or closing)."""
    exchange = event.data.exchange
    if exchange is None:
        return [], watch
    offline = exchange.offline
    changed = replace(watch, exchange_offline=offline)
    if watch.exchange_offline is None or watch.exchange_offline == offline:
        return [], changed
    if offline:
        title = f"{event.bot}: exchange offline"
        text = f"Bot {event.bot} cannot reach the exchange" + (f": {exchange.detail}" if exchange.detail else ".")
        text += " No new orders until it answers again."
    else:
        title = f"{event.bot}: exchange back online"
        text = f"Bot {event.bot} reaches the exchange again."
    note = Note(bot=event.bot, key=f"seq:{event.seq}", kind="exchange", seq=event.seq, occurred_at=event.ts,
                title=title, text=text, data={"offline": offline, "breaker": exchange.breaker})
    return [note], changed


def of_presence(bot: str, online: bool, watch: Watch, at: datetime) -> tuple[list[Note], Watch]:
    """The bot's heartbeat lapsing (its process is silent) or coming back."""
    changed = replace(watch, online=online)
    if watch.online is None or watch.online == online:
        return [], changed
    stamp = at.strftime("%Y%m%dT%H%M%S.%f")
    if online:
        note = Note(bot=bot, key=f"presence:{stamp}:up", kind="silent", occurred_at=at,
                    title=f"{bot} is back", text=f"Bot {bot} is running again.", data={"online": True})
    else:
        note = Note(bot=bot, key=f"presence:{stamp}:down", kind="silent", occurred_at=at,
                    title=f"{bot} is silent",
                    text=f"Bot {bot} stopped sending its heartbeat: its process is down or cut off from Redis.",
                    data={"online": False})
    return [note], changed


def daily_summary(bot: str, status: StatusData, day: str, at: datetime) -> Note:
    """The day's figures of one bot, from its latest status."""
    marks, stats = status.marks, status.stats
    quote = status.quote_asset
    today = marks.today if marks is not None and marks.today is not None else None
    lines = [f"State: {status.state.value}" + (f" ({status.reason})" if status.reason else "")]
    if today is not None:
        lines.append(f"Today: {signed(today)} {quote}")
    total = marks.total if marks is not None else status.pnl.total
    equity = marks.equity if marks is not None else status.equity
    lines.append(f"Total P&L: {signed(total)} {quote}, equity {money(equity)} {quote}")
    if stats is not None and stats.closed_trades:
        rate = f"{(stats.win_rate or Decimal(0)) * 100:.0f}%"
        lines.append(f"Closed trades: {stats.closed_trades}, won {rate}")
    lines.append(f"Open positions: {len(status.positions)}")
    return Note(bot=bot, key=f"daily:{day}", kind="daily", occurred_at=at, title=f"{bot}: daily summary {day}",
                text="\n".join(lines), data={"day": day, "total": str(total), "today": str(today) if today else None})
