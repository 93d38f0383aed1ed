"""Server-to-browser events: one model per event, carrying what the system needs to know about it.

Every registry is derived from the two unions at the bottom (what the bot emits, what the web
process makes): the type names, which events are durable records, which a newer one supersedes.
Adding an event is its model here, its producer and its rendering on the page.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from bot_api.errors import ContractError
from bot_api.models import MAX_SEQ, MONEY_LIMIT, BotId, ContractModel, Money, Symbol, UtcDatetime, over_bytes, utcnow

PROTOCOL_VERSION = 1
FEE_STEP = Decimal("0.00000001")
"""The bot's money step, to which a fee paid in the base asset is valued (bot.money.MONEY_STEP)."""
MAX_EVENT_BYTES = 1_048_576
"""Larger messages on the bot's channels are refused unparsed (bounded memory and CPU)."""


class BotState(StrEnum):
    """Whether the bot may place new orders."""

    RUNNING = "running"
    STOPPED = "stopped"


class Side(StrEnum):
    """Direction of a trade."""

    BUY = "buy"
    SELL = "sell"


class TradeData(ContractModel):
    """One fill: what was traded, at what price, what it cost and what it realised."""

    # Bounds match the Trade table's constraints, so a valid event is always storable.
    trade_id: Annotated[str, Field(min_length=1, max_length=64)]
    order_id: Annotated[str, Field(max_length=64)] | None = None
    symbol: Symbol
    side: Side
    qty: Annotated[Money, Field(gt=0)]
    price: Annotated[Money, Field(gt=0)]
    quote_qty: Annotated[Money, Field(ge=0)]
    fee: Annotated[Money, Field(ge=0)]
    fee_asset: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,16}$")]
    fee_quote: Annotated[Money, Field(ge=0)] | None = None
    """The fee valued in the quote asset, when it was paid in a third asset (e.g. BNB)."""
    realized_pnl: Money
    executed_at: UtcDatetime
    reason: Annotated[str, Field(max_length=200)] = ""
    strategy: Annotated[str, Field(max_length=64)] = ""
    """The strategy the bot was running (blank from bots before it was reported)."""

    @model_validator(mode="after")
    def _fee_storable(self) -> TradeData:
        # Derived from two bounded amounts, the fee's value could still overflow a money column.
        if self.fee_in_quote().copy_abs() >= MONEY_LIMIT:
            raise ValueError("the fee's value in the quote asset must be below 1E+18")
        return self

    def fee_in_quote(self) -> Decimal:
        """The fee in the quote asset, as the bot's books take it: `fee_quote` for a third asset,
        the fee itself when paid in the quote asset (the symbol's suffix), its value at the fill's
        price (to the bot's step of 1e-8, half up) when paid in the base asset (the prefix)."""
        if self.fee_quote is not None:
            return self.fee_quote
        if self.symbol.endswith(self.fee_asset):
            return self.fee
        if self.symbol.startswith(self.fee_asset):
            return (self.fee * self.price).quantize(FEE_STEP, rounding=ROUND_HALF_UP)
        return Decimal(0)  # a third asset without its value: the bot refuses to book such a fill


class PositionData(ContractModel):
    """An open position marked to the latest price."""

    symbol: Symbol
    qty: Money
    avg_entry: Money
    mark_price: Money
    unrealized_pnl: Money


class PnlData(ContractModel):
    """Profit and loss in the quote asset; total is realized + unrealized."""

    realized: Money
    unrealized: Money
    total: Money


class PositionMarkData(ContractModel):
    """One open position as the page shows it: its market value and unrealised P&L, in cents."""

    value: Money
    unrealized: Money


class MarksData(ContractModel):
    """The account marked to the latest prices, every figure rounded to the quote asset's display
    step (`decimals`), so that what a page shows adds up exactly.

    Rounded here, once, in the bot: `unrealized` is the sum of the rounded positions' `unrealized`,
    `total` is `realized + unrealized` and `equity` is `cash` plus the positions' `value`, digit for
    digit. A page formats these; it never recomputes money. The exact figures stay in `pnl`,
    `positions`, `cash` and `equity` of the status.
    """

    decimals: Annotated[int, Field(ge=0, le=8)]
    realized: Money
    unrealized: Money
    total: Money
    cash: Money
    equity: Money
    positions: dict[str, PositionMarkData]
    """By symbol: every open position."""
    today: Money | None = None
    """Today's P&L (UTC day, as the risk guard counts it), rounded the same way."""


class PriceData(ContractModel):
    """The latest traded price of one symbol, and the account marked to it."""

    symbol: Symbol
    price: Money
    marks: MarksData | None = None
    """The whole account at this price (every position, the headline figures): the newest price
    event of any symbol carries the current marks, so conflating older prices loses nothing."""


class SymbolStatsData(ContractModel):
    """Performance of one symbol."""

    symbol: Symbol
    fills: int
    closed: int
    """Closing fills (sells): the trades won or lost."""
    wins: int
    realized_pnl: Money


class StatsData(ContractModel):
    """Performance over closed trades (sells; their realised P&L is net of entry and exit fees)."""

    closed_trades: int
    wins: int
    losses: int
    win_rate: Money | None
    """wins / closed_trades, 0..1; null before the first closed trade."""
    profit_factor: Money | None
    """gross_profit / gross_loss, at most 1000000; null while there is no loss."""
    expectancy: Money | None
    """Mean realised P&L per closed trade."""
    gross_profit: Money
    gross_loss: Money
    fees: Money
    """Every fee paid, valued in the quote asset."""
    best_trade: Money | None
    worst_trade: Money | None
    max_drawdown: Money
    """Largest fall of realised equity (starting cash + closed P&L) from its previous peak."""
    max_drawdown_pct: Money
    per_symbol: list[SymbolStatsData]


class RiskData(ContractModel):
    """The risk guard: today's P&L (UTC day: realised today + unrealised now) and the limits."""

    daily_pnl: Money
    max_daily_loss: Money | None
    """Trading stops (state `stopped`, with the reason) when daily_pnl falls to -max_daily_loss."""
    max_position_quote: Money | None
    """Largest value of one position; buys are reduced or skipped to stay within it."""


class ExchangeData(ContractModel):
    """Where prices come from and whether the exchange answers."""

    source: Literal["sim", "stream", "rest", "none"]
    """sim: the simulated market; stream: Binance websocket; rest: REST polling fallback; none: no prices."""
    breaker: Literal["closed", "open", "half-open"] | None = None
    """The circuit breaker around exchange calls (null without an exchange)."""
    offline: bool = False
    """True while the exchange cannot be used: the breaker is open or no source gives prices."""
    detail: str | None = None
    balances: dict[str, Money] = Field(default_factory=dict)
    """The exchange account's free balances (BROKER=binance), by asset."""


class MarketStatData(ContractModel):
    """A symbol's reference price for its 24 h change: the first price in the last 24 h."""

    open_24h: Money
    since: UtcDatetime
    """When that price was seen: 24 h ago, or later if the bot has not watched that long."""


class StatusData(ContractModel):
    """A full snapshot of the bot: everything a fresh screen needs."""

    state: BotState
    reason: str | None = None
    mode: str
    market_data: str
    strategy: str
    quote_asset: str
    symbols: list[Symbol]
    prices: dict[str, Money]
    positions: list[PositionData]
    pnl: PnlData
    cash: Money
    equity: Money
    trade_count: int
    recent_trades: list[TradeData]
    started_at: UtcDatetime
    stats: StatsData | None = None
    """Null only in snapshots written by an older bot (as are risk and exchange)."""
    risk: RiskData | None = None
    exchange: ExchangeData | None = None
    market: dict[str, MarketStatData] = Field(default_factory=dict)
    """By symbol: the 24 h reference price (the page shows the change against the live price)."""
    marks: MarksData | None = None
    """The account as a page shows it (see MarksData); null only from an older bot."""
    candle_interval: int | None = None
    """Seconds per candle in the chart data (`/api/candles`, and what the page extends live)."""
    recovered: bool | None = None
    """Set (false) only on a status sent in answer to a `resume` that could not be replayed."""


class PortfolioData(ContractModel):
    """The account after a fill: what a trade changed, so a page that has the status stays exact
    without the whole snapshot (~20 KB) going to every socket with every trade."""

    positions: dict[Symbol, PositionData | None]
    """The positions the fill changed: each one as it is now, null when it was closed."""
    pnl: PnlData
    cash: Money
    equity: Money
    trade_count: int
    stats: StatsData | None = None
    risk: RiskData | None = None
    marks: MarksData | None = None


class StatusChangeData(ContractModel):
    """The bot moved between running and stopped."""

    state: BotState
    previous: BotState
    reason: str | None = None


class CommandResultData(ContractModel):
    """The answer to one command: `id` is the command's (made by the web process), `ref` the
    client's own reference from its frame, which a page matches its pending command by."""

    id: str
    ref: str | None = None
    command: str
    ok: bool
    error: str | None = None
    detail: Annotated[str, Field(max_length=300)] | None = None
    """What happened, for people (e.g. which positions a stop closed)."""
    recovered: bool | None = None
    """For `resume` only: true if the missed events follow, false if a fresh status does."""


class OrderSkippedData(ContractModel):
    """A signal of the strategy that no order followed, and why, in words for people."""

    symbol: Symbol
    side: Side
    reason: Annotated[str, Field(max_length=200)]


class EquityData(ContractModel):
    """A point of the equity curve: what the account was worth, and how."""

    equity: Money
    cash: Money
    pnl: PnlData


class BotPresenceData(ContractModel):
    """Whether the bot process is alive, judged by its heartbeat key."""

    online: bool


class BotSummaryData(ContractModel):
    """One bot as the overview lists it: state and headline figures, rounded as its own page shows
    them (from its `marks` when it has sent any). Null figures: the bot never published a status."""

    online: bool
    last_seen: UtcDatetime | None = None
    """The bot's last heartbeat."""
    state: BotState | None = None
    reason: str | None = None
    strategy: str | None = None
    symbols: list[Symbol] = Field(default_factory=list)
    mode: str | None = None
    """paper or live."""
    market_data: str | None = None
    """Where its prices come from: sim or binance."""
    quote_asset: str | None = None
    decimals: Annotated[int, Field(ge=0, le=8)] = 2
    pnl: PnlData | None = None
    equity: Money | None = None
    trade_count: int = 0
    win_rate: Money | None = None
    """Closing trades won, as a fraction 0..1 like the status's `stats.win_rate` (null before the first)."""
    max_drawdown: Money | None = None
    max_drawdown_pct: Money | None = None
    last_seq: int | None = None
    """The last event of the bot these figures reflect."""


class BotListData(ContractModel):
    """Every bot the dashboard knows of, by id (sent on connect and whenever the list changes)."""

    bots: Annotated[list[BotId], Field(max_length=500)]


class AlertFiredData(ContractModel):
    """One of the user's own alerts fired (the notifier decided; the page shows a toast)."""

    alert_id: int
    symbol: Annotated[str, Field(max_length=20)]
    kind: Annotated[str, Field(max_length=20)]
    text: Annotated[str, Field(max_length=300)]
    """What happened, for people, e.g. `main BTCUSDT: crossed above 65,000 at 65,012.30`."""
    value: Money
    fired_at: UtcDatetime


class HeartbeatData(ContractModel):
    """The web process is alive and this socket is up to date: sent on a socket idle for a second."""

    last_seq: int | None
    """The last bot seq the web process handed to its sockets (null before the bot published)."""


class ErrorData(ContractModel):
    """Something the server could not accept; `code` is stable, `message` is for people."""

    code: str
    message: str


class Envelope(ContractModel):
    """Fields every event carries: version, seq, timestamp and bot id."""

    durable: ClassVar[bool] = False
    """A record: also appended to the trades stream, stored by the recorder (never conflated)."""
    state_change: ClassVar[bool] = False
    """Changes the state a fresh reader needs: the bot's snapshot in Redis is written with it."""

    v: Literal[1] = 1
    seq: Annotated[int, Field(ge=1, le=MAX_SEQ)] | None = None
    ts: UtcDatetime = Field(default_factory=utcnow)
    bot: BotId = "main"

    @classmethod
    def type_name(cls) -> str:
        """The `type` this model carries."""
        return str(cls.model_fields["type"].default)

    def supersedes_key(self) -> str | None:
        """Events with a key may be dropped for newer ones: a lagging socket keeps only the newest of
        each (type, key), a full outbox drops the oldest of these types first. None (the default):
        never dropped."""
        return None


class StatusEvent(Envelope):
    """Full snapshot; the first frame on every socket."""

    state_change: ClassVar[bool] = True
    type: Literal["status"] = "status"
    data: StatusData


class StatusChangeEvent(Envelope):
    """The bot's state changed."""

    state_change: ClassVar[bool] = True
    type: Literal["status_change"] = "status_change"
    data: StatusChangeData


class PriceUpdateEvent(Envelope):
    """A new price for one symbol."""

    type: Literal["price_update"] = "price_update"
    data: PriceData

    def supersedes_key(self) -> str | None:
        """A newer price of the same symbol carries everything this one did (marks included)."""
        return self.data.symbol


class TradeExecutedEvent(Envelope):
    """A fill happened."""

    durable: ClassVar[bool] = True
    type: Literal["trade_executed"] = "trade_executed"
    data: TradeData


class PortfolioEvent(Envelope):
    """The account after a fill (follows its `trade_executed` events): the status's figures that
    changed, applied to the page's copy of the last status."""

    state_change: ClassVar[bool] = True
    type: Literal["portfolio"] = "portfolio"
    data: PortfolioData


class BotControlEvent(Envelope):
    """The result of a command (stored: the audit log's outcome)."""

    durable: ClassVar[bool] = True
    type: Literal["bot_control"] = "bot_control"
    data: CommandResultData


class EquitySnapshotEvent(Envelope):
    """A periodic point of the equity curve (stored by the recorder)."""

    durable: ClassVar[bool] = True
    type: Literal["equity_snapshot"] = "equity_snapshot"
    data: EquityData


class OrderSkippedEvent(Envelope):
    """The strategy signalled, but the bot placed no order (too little cash, a position limit,
    less than one lot): the page's activity log says why nothing happened."""

    type: Literal["order_skipped"] = "order_skipped"
    data: OrderSkippedData


class BotPresenceEvent(Envelope):
    """The bot process went on- or offline (sent by the web process, seq is null)."""

    type: Literal["bot_presence"] = "bot_presence"
    data: BotPresenceData


class HeartbeatEvent(Envelope):
    """Sent by the web process on an idle socket about once a second (seq is null): silence
    longer than that means the link or the server is stuck, not that the market is quiet."""

    type: Literal["heartbeat"] = "heartbeat"
    data: HeartbeatData


class BotSummaryEvent(Envelope):
    """One bot's state and figures for the overview (sent by the web process, seq is null; a few a
    second per bot at most)."""

    type: Literal["bot_summary"] = "bot_summary"
    data: BotSummaryData

    def supersedes_key(self) -> str | None:
        """A newer summary of the same bot carries everything this one did."""
        return self.bot


class BotListEvent(Envelope):
    """The bots there are (sent by the web process, seq is null): a bot not in it was retired."""

    type: Literal["bot_list"] = "bot_list"
    data: BotListData


class AlertFiredEvent(Envelope):
    """A user's alert fired: sent by the notifier to that user's open pages only (seq is null)."""

    type: Literal["alert_fired"] = "alert_fired"
    data: AlertFiredData


class ErrorEvent(Envelope):
    """A frame the server refused (sent by the web process, seq is null)."""

    type: Literal["error"] = "error"
    data: ErrorData


BotEvent = (
    StatusEvent
    | StatusChangeEvent
    | PriceUpdateEvent
    | TradeExecutedEvent
    | PortfolioEvent
    | BotControlEvent
    | EquitySnapshotEvent
    | OrderSkippedEvent
)
"""Every event the bot emits (with a seq, journalled, published on its channel)."""

WebEvent = BotPresenceEvent | ErrorEvent | HeartbeatEvent | BotSummaryEvent | BotListEvent | AlertFiredEvent
"""Every event a web process (or the notifier, for one user's alerts) makes for its sockets itself (no seq)."""

Event = Annotated[BotEvent | WebEvent, Field(discriminator="type")]
"""Any envelope; validate with `parse_event`."""

BOT_EVENT_MODELS: tuple[type[Envelope], ...] = get_args(BotEvent)
EVENT_MODELS: dict[str, type[Envelope]] = {m.type_name(): m for m in (*BOT_EVENT_MODELS, *get_args(WebEvent))}
"""Every envelope model by its `type`: the registry the page's list is tested against."""
DURABLE_MODELS: tuple[type[Envelope], ...] = tuple(m for m in BOT_EVENT_MODELS if m.durable)
"""The records: events the recorder stores (trades, equity points, command outcomes)."""
DURABLE_TYPES = frozenset(m.type_name() for m in DURABLE_MODELS)
STATE_CHANGE_TYPES = frozenset(m.type_name() for m in BOT_EVENT_MODELS if m.state_change)
SUPERSEDED_TYPES = frozenset(
    m.type_name() for m in BOT_EVENT_MODELS if m.supersedes_key is not Envelope.supersedes_key
)
"""Event types a newer one of the same key may replace (prices): all that may ever be dropped."""

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: str | bytes) -> Event:
    """Validate one JSON envelope; raise ContractError (code `too_large` or `invalid_event`)."""
    if over_bytes(raw, MAX_EVENT_BYTES):
        raise ContractError("too_large", f"an event over {MAX_EVENT_BYTES} bytes")
    try:
        return _EVENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise ContractError("invalid_event", _summary(exc)) from None


def encode_event(event: Envelope) -> str:
    """Serialise an envelope to the JSON text that goes on the wire."""
    return event.model_dump_json()


def error_event(code: str, message: str, *, bot: str = "main") -> ErrorEvent:
    """Build an `error` frame with a stable code."""
    return ErrorEvent(bot=bot, data=ErrorData(code=code, message=message))


def _summary(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "frame"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
