"""The trading engine: prices in, strategy decisions, fills booked, contract events out."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from bot.broker.base import Broker, Fill
from bot.candles import ChartCandles
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.errors import BotError, OrderStatusUnknownError
from bot.market.base import Tick
from bot.marks import display_decimals, marks
from bot.portfolio import Portfolio
from bot.risk import RiskGuard
from bot.sizing import order_qty
from bot.strategy.bars import BarCloses
from bot.strategy.base import Signal, Strategy
from bot_api.commands import BotCommand, ClosePosition, Command, CommandError, RequestStatus, StartBot, StopBot
from bot_api.events import (
    BotControlEvent,
    BotEvent,
    BotState,
    CommandResultData,
    EquityData,
    EquitySnapshotEvent,
    MarksData,
    OrderSkippedData,
    OrderSkippedEvent,
    PortfolioData,
    PortfolioEvent,
    PositionData,
    PriceData,
    PriceUpdateEvent,
    Side,
    StatusChangeData,
    StatusChangeEvent,
    StatusData,
    StatusEvent,
    TradeData,
    TradeExecutedEvent,
)
from bot_api.models import utcnow

logger = logging.getLogger(__name__)

RECENT_TRADES = 50
Outcome = tuple[CommandError | None, str | None]
"""A command's error (None: done) and what happened, for people."""

class EventSink(Protocol):
    """Where emitted events go; must not raise on transport failures (trading goes on).

    A sink that needs the state behind the events reads the engine's `snapshot()` when it needs
    it: every change is emitted without an await in between, so the snapshot always reflects
    exactly the events emitted so far (its seq is the last one's).
    """

    async def emit(self, event: BotEvent) -> None:
        """Deliver `event`."""
        ...


class TradingEngine:
    """Owns seq, state, prices and the portfolio; every change is emitted as one event."""

    def __init__(
        self,
        settings: BotSettings,
        strategy: Strategy,
        broker: Broker,
        sink: EventSink,
        *,
        market_name: str = "sim",
        initial_seq: int = 0,
        connectivity: Connectivity | None = None,
    ) -> None:
        self.settings = settings
        self.strategy = strategy
        self.broker = broker
        self.sink = sink
        self.market_name = market_name
        self.portfolio = Portfolio(settings.starting_cash, settings.quote_asset)
        self.risk = RiskGuard(max_position_quote=settings.max_position_quote, max_daily_loss=settings.max_daily_loss)
        self.connectivity = connectivity or Connectivity()
        self.state = BotState.RUNNING if settings.auto_start else BotState.STOPPED
        self.reason = (
            "started at launch" if settings.auto_start else "waiting for an operator to start it (AUTO_START is off)"
        )
        self.prices: dict[str, Decimal] = {}
        self.trade_count = 0
        self.recent_trades: deque[TradeData] = deque(maxlen=RECENT_TRADES)
        self.candles = ChartCandles(settings.candle_interval)
        self.bars = BarCloses(settings.strategy_timeframe)
        self.decimals = display_decimals(settings.quote_asset)
        self.started_at = utcnow()
        self._seq = 0
        self.set_seq(initial_seq)
        # One operation at a time: seq order must equal publish order (the replay stream
        # refuses ids that go backwards), and a command must not interleave with a fill.
        self._lock = asyncio.Lock()
        self._told_skip: dict[str, str] = {}
        """By symbol: the cause of the last order_skipped told (see on_tick)."""
        self._handlers: dict[type[Command], Callable[[Any, str], Awaitable[Outcome]]] = {
            StartBot: self._start,
            StopBot: self._stop,
            ClosePosition: self._close_one,
            RequestStatus: self._send_status,
        }
        """One handler per command the contract sends the bot (BOT_ACTIONS; a test holds them equal)."""

    def restore(self, ledger: Sequence[TradeData], state: BotState | None) -> None:
        """After a restart: rebuild the portfolio and counters from the ledger, and the last state.

        A bot that was stopped stays stopped, whatever AUTO_START says: a crash must not
        silently resume trading that an operator had halted.
        """
        today = utcnow().date()
        day_open = None
        for trade in ledger:
            if day_open is None and trade.executed_at.date() >= today:
                day_open = self.portfolio.equity({})  # positions at cost: no marks are kept
            self.portfolio.apply(Fill.of_trade(trade))
            self.trade_count += 1
            self.recent_trades.appendleft(trade)
        self.risk.open_day(self.portfolio.equity({}) if day_open is None else day_open, today)
        if state is not None:
            self.state = state
            self.reason = f"{state.value} before the bot restarted; kept"
        if ledger:
            logger.info("restored %d trade(s) from the journal; state %s", len(ledger), self.state.value)

    @property
    def seq(self) -> int:
        """The seq of the last emitted event (0 before the first)."""
        return self._seq

    def set_seq(self, seq: int) -> None:
        """Continue numbering after `seq`: the next event gets seq + 1."""
        if seq < 0:
            raise ValueError(f"seq must be >= 0, got {seq}")
        self._seq = seq

    async def on_tick(self, tick: Tick) -> None:
        """Record a price, emit it, and trade if the strategy signals while running."""
        async with self._lock:
            self.prices[tick.symbol] = tick.price
            self.candles.update(tick.symbol, tick.price, tick.ts)
            await self._emit(
                PriceUpdateEvent(
                    seq=self._next_seq(),
                    bot=self.settings.bot_id,
                    # The account at this price travels with it: every screen's headline moves
                    # with the prices, computed once, here, in Decimal.
                    data=PriceData(symbol=tick.symbol, price=tick.price, marks=self._marks(self.prices)),
                )
            )
            # The strategy sees every bar close of its timeframe (every price with 0), even while
            # stopped, so its windows stay contiguous; only acting on a signal depends on the state.
            # Dust no order can sell counts as flat (Binance takes a buy's fee in the coin).
            position_qty = self.broker.tradable(tick.symbol, self.portfolio.position_qty(tick.symbol), tick.price)
            close = self.bars.close(tick.symbol, tick.price, tick.ts)
            # A decision on the closed bar is traded at this tick's price: the one an order gets now.
            signal = None if close is None else self.strategy.on_price(tick.symbol, close, position_qty)
            if await self._risk_halt() or signal is None or self.state is not BotState.RUNNING:
                return
            qty = order_qty(settings=self.settings, risk=self.risk, side=signal.side, price=tick.price,
                            held=position_qty, cash=self.portfolio.cash)
            if isinstance(qty, Decimal):
                await self._trade(tick, signal, qty)
            elif qty is not None and self._told_skip.get(tick.symbol) != qty.kind:
                # Told once per cause and symbol (until it trades again): a strategy that keeps
                # signalling into an empty wallet must not fill the log and the replay window.
                self._told_skip[tick.symbol] = qty.kind
                skipped = OrderSkippedData(symbol=tick.symbol, side=signal.side, reason=qty.reason)
                await self._emit(OrderSkippedEvent(seq=self._next_seq(), bot=self.settings.bot_id, data=skipped))

    async def _trade(self, tick: Tick, signal: Signal, qty: Decimal) -> None:
        self._told_skip.pop(tick.symbol, None)
        await self._execute(tick.symbol, signal.side, qty, tick.price, signal.reason)
        await self._risk_halt()

    async def _execute(self, symbol: str, side: Side, qty: Decimal, price: Decimal, reason: str) -> None:
        """Place one market order and book its fills; raises the broker's BotError."""
        try:
            fills = await self.broker.market_order(symbol, side, qty, price)
        except OrderStatusUnknownError as exc:
            # The exchange may hold a position the books do not: no new order until a person looked.
            await self._set_state(BotState.STOPPED, f"order outcome unknown, check the exchange: {exc}")
            raise
        booked = 0
        try:
            for fill in fills:  # one per fee asset: usually exactly one
                await self._book(fill, reason)
                booked += 1
        finally:
            # A fill changes cash, positions and P&L: push the authoritative figures so no screen
            # has to redo the bot's money arithmetic; only what changed (the whole status is
            # ~20 KB). Also when a later fill could not be booked: the earlier ones were.
            if booked:
                await self._emit(PortfolioEvent(seq=self._next_seq(), bot=self.settings.bot_id,
                                                data=self._portfolio(symbol)))

    async def _book(self, fill: Fill, reason: str) -> None:
        try:
            realized = self.portfolio.apply(fill)
        except BotError as exc:
            # Executed but impossible in the books (a sell of more than held): they no longer
            # match the exchange, so trading must wait for a person.
            await self._set_state(BotState.STOPPED, f"fill {fill.trade_id} not booked, check the exchange: {exc}")
            raise
        trade = fill.trade(realized=realized, reason=reason, strategy=self.strategy.name[:64])
        self.trade_count += 1
        self.recent_trades.appendleft(trade)
        logger.info(
            "%s %s %s @ %s fee %s %s realized %s (%s)",
            fill.side.value.upper(), fill.qty, fill.symbol, fill.price, fill.fee, fill.fee_asset, realized, reason,
        )
        await self._emit(TradeExecutedEvent(seq=self._next_seq(), bot=self.settings.bot_id, data=trade))

    async def _risk_halt(self) -> bool:
        """Stop trading (saying why) when the daily loss limit is reached; True if stopped by it."""
        if self.state is not BotState.RUNNING:
            return False
        reason = self.risk.breach(self.portfolio.equity(self.prices))
        if reason is None:
            return False
        logger.warning("%s; trading stopped", reason)
        await self._set_state(BotState.STOPPED, reason)
        return True

    def snapshot(self) -> StatusEvent:
        """The full status as of the last emitted event (its seq is the current seq)."""
        prices = dict(self.prices)
        positions = [p for p in (self._position(symbol, prices) for symbol in sorted(self.portfolio.positions)) if p]
        data = StatusData(
            state=self.state,
            reason=self.reason,
            mode=self.broker.name,
            market_data=self.market_name,
            strategy=self.strategy.name,
            quote_asset=self.settings.quote_asset,
            symbols=list(self.settings.symbols),
            prices=prices,
            positions=positions,
            pnl=self.portfolio.pnl(prices),
            cash=self.portfolio.cash,
            equity=self.portfolio.equity(prices),
            trade_count=self.trade_count,
            recent_trades=list(self.recent_trades),
            started_at=self.started_at,
            stats=self.portfolio.stats.data(),
            risk=self.risk.data(self.portfolio.equity(prices)),
            exchange=self.connectivity.data(),
            market=self.candles.market(utcnow()),
            marks=self._marks(prices),
            candle_interval=self.candles.interval,
        )
        return StatusEvent(seq=self._seq or None, bot=self.settings.bot_id, data=data)

    def _position(self, symbol: str, prices: dict[str, Decimal]) -> PositionData | None:
        """A symbol's open position as screens show it (None: flat)."""
        position = self.portfolio.positions.get(symbol)
        if position is None:
            return None
        return PositionData(symbol=symbol, qty=position.qty, avg_entry=position.avg_entry,
                            mark_price=prices.get(symbol, position.avg_entry),
                            unrealized_pnl=position.unrealized(prices.get(symbol)))

    def _portfolio(self, symbol: str) -> PortfolioData:
        """The account after a fill in `symbol`: the status's figures a fill changes."""
        prices = dict(self.prices)
        equity = self.portfolio.equity(prices)
        return PortfolioData(
            positions={symbol: self._position(symbol, prices)}, pnl=self.portfolio.pnl(prices),
            cash=self.portfolio.cash, equity=equity, trade_count=self.trade_count,
            stats=self.portfolio.stats.data(), risk=self.risk.data(equity), marks=self._marks(prices),
        )

    def _marks(self, prices: dict[str, Decimal]) -> MarksData:
        """The account as screens show it, at `prices` (see bot.marks)."""
        today = self.risk.daily_pnl(self.portfolio.equity(prices))
        return marks(self.portfolio, prices, self.decimals, today=today)

    async def start(self, reason: str) -> None:
        """Allow new orders; emits status_change if the bot was stopped."""
        async with self._lock:
            await self._set_state(BotState.RUNNING, reason)

    async def stop(self, reason: str) -> None:
        """Place no new orders (prices keep flowing); emits status_change if it was running."""
        async with self._lock:
            await self._set_state(BotState.STOPPED, reason)

    async def record_equity(self) -> None:
        """Emit a point of the equity curve (the recorder stores it)."""
        async with self._lock:
            prices = dict(self.prices)
            data = EquityData(
                equity=self.portfolio.equity(prices), cash=self.portfolio.cash, pnl=self.portfolio.pnl(prices)
            )
            await self._emit(EquitySnapshotEvent(seq=self._next_seq(), bot=self.settings.bot_id, data=data))

    async def publish_status(self) -> None:
        """Emit a fresh status event (at startup, on request, when the exchange's health changes)."""
        async with self._lock:
            await self._emit_status()

    async def handle_command(self, cmd: BotCommand) -> CommandResultData:
        """Execute a command unless expired or misaddressed; always answer with bot_control."""
        # Expiry is judged on arrival: waiting for the lock (an order in progress) must not make
        # an operator's stop too old to count.
        expired = cmd.is_expired()
        action = cmd.action
        async with self._lock:
            who = cmd.issued_by or "unknown"
            error: CommandError | None = None
            detail: str | None = None
            if cmd.bot != self.settings.bot_id:
                error = CommandError.INVALID
            elif expired:
                error = CommandError.EXPIRED
            else:
                error, detail = await self._handlers[type(action)](action, who)
            result = CommandResultData(
                id=cmd.id, ref=action.id, command=action.command, ok=error is None,
                error=error.value if error else None, detail=detail,
            )
            logger.info("command %s %s from %s: %s", cmd.id, action.command, who, error or "ok")
            await self._emit(BotControlEvent(seq=self._next_seq(), bot=self.settings.bot_id, data=result))
            return result

    async def _start(self, _action: StartBot, who: str) -> Outcome:
        await self._set_state(BotState.RUNNING, f"started by {who}")
        return None, None

    async def _stop(self, action: StopBot, who: str) -> Outcome:
        await self._set_state(BotState.STOPPED, f"stopped by {who}")
        if action.close_positions:
            return await self._close_all(f"closed by {who} (stop and close all)")
        return None, None

    async def _close_one(self, action: ClosePosition, who: str) -> Outcome:
        try:
            return await self._close(action.symbol, f"closed by {who}")
        except OrderStatusUnknownError as exc:
            return CommandError.ORDER_FAILED, f"outcome unknown, bot stopped: {exc}"[:300]

    async def _send_status(self, _action: RequestStatus, _who: str) -> Outcome:
        await self._emit_status()
        return None, None

    async def _close(self, symbol: str, reason: str) -> tuple[CommandError | None, str]:
        """Sell the whole (sellable) position in `symbol` at market: (error or None, what happened).

        Raises OrderStatusUnknownError (the bot is stopped then): nothing more may be sent.
        """
        price = self.prices.get(symbol)
        if price is None:
            return CommandError.NO_POSITION, f"no price for {symbol} yet"
        qty = self.broker.tradable(symbol, self.portfolio.position_qty(symbol), price)
        if qty <= 0:
            return CommandError.NO_POSITION, f"no sellable {symbol} position"
        try:
            await self._execute(symbol, Side.SELL, qty, price, reason)
        except OrderStatusUnknownError:
            raise
        except BotError as exc:
            logger.warning("closing %s failed: %s", symbol, exc)
            return CommandError.ORDER_FAILED, f"{symbol}: {exc}"[:300]
        return None, f"sold {qty.normalize():f} {symbol}"

    async def _close_all(self, reason: str) -> tuple[CommandError | None, str]:
        """Close every open position; the first failure is the command's error, every outcome is told.

        An order whose outcome is unknown ends the loop: the bot has halted, nothing more is sent.
        """
        error: CommandError | None = None
        told = []
        for symbol in sorted(self.portfolio.positions):
            try:
                failed, text = await self._close(symbol, reason)
            except OrderStatusUnknownError as exc:
                told.append(f"{symbol}: outcome unknown, stopped closing: {exc}")
                error = error or CommandError.ORDER_FAILED
                break
            if failed is CommandError.NO_POSITION:
                continue  # dust: nothing an order can sell
            error = error or failed
            told.append(text)
        return error, ("; ".join(told) or "no open position")[:300]

    async def _set_state(self, state: BotState, reason: str) -> None:
        if state is self.state:
            return
        previous, self.state, self.reason = self.state, state, reason
        logger.info("bot %s -> %s: %s", previous.value, state.value, reason)
        change = StatusChangeData(state=state, previous=previous, reason=reason)
        await self._emit(StatusChangeEvent(seq=self._next_seq(), bot=self.settings.bot_id, data=change))

    async def _emit_status(self) -> None:
        self._next_seq()
        await self.sink.emit(self.snapshot())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _emit(self, event: BotEvent) -> None:
        # Called right after the change it reports (no await between them): see EventSink.
        await self.sink.emit(event)
