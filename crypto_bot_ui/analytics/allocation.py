"""Where the money sits now (a selector): each bot's cash and positions at their market value, from
the snapshots the bots keep current in Redis (at most a quarter second old), in the figures the
bots' own pages show (their `marks`, which add up to the equity digit for digit)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from bot_api.events import StatusData
from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.dashboard.selectors import bot_snapshots, current_snapshot
from crypto_bot_ui.trades.selectors import inert

CASH = "cash"


@dataclass(frozen=True)
class Holding:
    """Money in one place: `name` is "cash" or a symbol; `bot` is whose."""

    bot: str
    name: str
    value: Decimal


@dataclass
class Allocation:
    """One quote asset's money: cash and each symbol's positions (summed over the bots), the total,
    and each bot's holdings apart."""

    quote_asset: str
    decimals: int
    total: Decimal = field(default_factory=Decimal)
    slices: dict[str, Decimal] = field(default_factory=dict)
    holdings: list[Holding] = field(default_factory=list)


def holdings_of(*, bot: str, data: StatusData) -> tuple[int, list[Holding]]:
    """(display decimals, holdings) of one bot's status: its rounded marks, or the exact figures
    before it sent any."""
    if data.marks is not None:
        places = data.marks.decimals
        positions = {symbol: mark.value for symbol, mark in data.marks.positions.items()}
        cash = data.marks.cash
    else:
        places = 8
        positions = {p.symbol: p.qty * p.mark_price for p in data.positions}
        cash = data.cash
    return places, [Holding(bot, CASH, cash), *(Holding(bot, s, v) for s, v in sorted(positions.items()))]


def statuses(*, bot_id: str | None) -> list[tuple[str, StatusData]]:
    """(bot, status) of one bot, or of every registered bot that has published one (a bot that
    never did holds nothing yet); raise BotDataUnavailableError when Redis does not answer."""
    if bot_id is not None:
        return [(bot_id, current_snapshot(bot_id).data)]
    return [(bot.bot_id, status.data) for bot, status in bot_snapshots() if status is not None]


PORTFOLIO_COLUMNS = ("bot_id", "asset", "qty", "avg_entry", "mark_price", "value", "unrealized_pnl", "quote_asset")


def portfolio_rows(*, bot_id: str | None) -> list[list[str]]:
    """The portfolio CSV's rows (header first): each bot's cash, then its positions, exact figures."""
    rows = [list(PORTFOLIO_COLUMNS)]
    for bot, data in statuses(bot_id=bot_id):
        # Text from a bot's snapshot goes through `inert`: a spreadsheet must not run it as a formula.
        who, quote = inert(bot), inert(data.quote_asset)
        rows.append([who, CASH, "", "", "", plain(data.cash), "", quote])
        rows += [[who, inert(p.symbol), plain(p.qty), plain(p.avg_entry), plain(p.mark_price),
                  plain(p.qty * p.mark_price), plain(p.unrealized_pnl), quote] for p in data.positions]
    return rows


def allocation(*, bot_id: str | None) -> list[Allocation]:
    """Per quote asset (nearly always one), the money of one bot (None: every registered bot with a
    snapshot); raise BotDataUnavailableError when Redis does not answer."""
    groups: dict[str, Allocation] = {}
    for bot, data in statuses(bot_id=bot_id):
        places, holdings = holdings_of(bot=bot, data=data)
        group = groups.setdefault(data.quote_asset, Allocation(quote_asset=data.quote_asset, decimals=places))
        group.decimals = max(group.decimals, places)
        group.holdings += holdings
    for group in groups.values():
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for holding in group.holdings:
            sums[holding.name] += holding.value
        group.slices = {CASH: sums.pop(CASH, Decimal(0)), **dict(sorted(sums.items()))}
        group.total = sum(group.slices.values(), Decimal(0))
    return [groups[quote] for quote in sorted(groups)]
