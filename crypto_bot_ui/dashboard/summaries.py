"""One bot in a line: its summary for the overview and `/api/bots`, built from its status and kept
current from its live events. The figures are the ones its own page shows (the bot's rounded
`marks` when there are any), so the overview and the bot's page never disagree."""

from __future__ import annotations

from datetime import datetime

from bot_api.events import (
    BotSummaryData,
    Event,
    MarksData,
    PnlData,
    PortfolioEvent,
    PriceUpdateEvent,
    StatusChangeEvent,
    StatusData,
    StatusEvent,
)


def summary_of(status: StatusEvent | None, *, online: bool, last_seen: datetime | None) -> BotSummaryData:
    """The summary of a bot from its latest status (None: it never published one)."""
    if status is None:
        return BotSummaryData(online=online, last_seen=last_seen)
    data: StatusData = status.data
    stats = data.stats
    summary = BotSummaryData(
        online=online, last_seen=last_seen, state=data.state, reason=data.reason, strategy=data.strategy,
        symbols=list(data.symbols), mode=data.mode, market_data=data.market_data, quote_asset=data.quote_asset,
        pnl=data.pnl, equity=data.equity, trade_count=data.trade_count,
        win_rate=None if stats is None else stats.win_rate,
        max_drawdown=None if stats is None else stats.max_drawdown,
        max_drawdown_pct=None if stats is None else stats.max_drawdown_pct,
        last_seq=status.seq,
    )
    return summary if data.marks is None else with_marks(summary, data.marks, status.seq)


def with_marks(summary: BotSummaryData, marks: MarksData, seq: int | None) -> BotSummaryData:
    """The summary with the account's figures as of `marks` (rounded as the bot's page shows them)."""
    pnl = PnlData(realized=marks.realized, unrealized=marks.unrealized, total=marks.total)
    return summary.model_copy(update={"pnl": pnl, "equity": marks.equity, "decimals": marks.decimals,
                                      "last_seq": seq if seq is not None else summary.last_seq})


def updated(summary: BotSummaryData, event: Event) -> BotSummaryData | None:
    """The summary after one of the bot's events, or None when the event changes nothing in it."""
    if isinstance(event, StatusEvent):
        return summary_of(event, online=summary.online, last_seen=summary.last_seen)
    if isinstance(event, PriceUpdateEvent) and event.data.marks is not None:
        return with_marks(summary, event.data.marks, event.seq)
    if isinstance(event, PortfolioEvent):
        data = event.data
        stats = {} if data.stats is None else {"win_rate": data.stats.win_rate, "max_drawdown": data.stats.max_drawdown,
                                                "max_drawdown_pct": data.stats.max_drawdown_pct}
        summary = summary.model_copy(update={"pnl": data.pnl, "equity": data.equity, "trade_count": data.trade_count,
                                             "last_seq": event.seq, **stats})
        return summary if data.marks is None else with_marks(summary, data.marks, event.seq)
    if isinstance(event, StatusChangeEvent):
        return summary.model_copy(update={"state": event.data.state, "reason": event.data.reason,
                                          "last_seq": event.seq})
    return None
