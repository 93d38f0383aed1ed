"""Test doubles shared by the bot tests: a list sink and scripted strategies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.engine import TradingEngine
from bot.market.base import Tick
from bot.strategy.base import Signal, Strategy
from bot_api.events import BotEvent, Side, StatusEvent, TradeData

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class ListSink:
    """Collects (event, the engine's snapshot when it was emitted) pairs in emission order."""

    def __init__(self) -> None:
        self.emitted: list[tuple[BotEvent, StatusEvent]] = []
        self.engine: TradingEngine | None = None

    async def emit(self, event: BotEvent) -> None:
        assert self.engine is not None, "attach the sink with engine()"
        self.emitted.append((event, self.engine.snapshot()))

    @property
    def events(self) -> list[BotEvent]:
        return [event for event, _ in self.emitted]

    def of_type(self, type_: str) -> list[BotEvent]:
        return [event for event in self.events if event.type == type_]


class AlwaysStrategy:
    """Buys whenever flat and sells whenever long: a signal on every price."""

    name = "always"

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        if position_qty == 0:
            return Signal(Side.BUY, "flat, buying")
        return Signal(Side.SELL, "long, selling")


class ScriptedStrategy:
    """Returns the given signals in order, one per price, then None."""

    name = "scripted"

    def __init__(self, signals: Iterable[Side | None]) -> None:
        self._signals = list(signals)
        self.calls = 0

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        side = self._signals[self.calls] if self.calls < len(self._signals) else None
        self.calls += 1
        return None if side is None else Signal(side, f"scripted {side.value}")


FRICTIONLESS = {"STRATEGY_TIMEFRAME": "0", "SLIPPAGE_BPS": "0"}
"""What the engine tests assume unless they say otherwise: the strategy sees every price, fills at it."""


def settings(**env: str) -> BotSettings:
    """Settings from defaults, FRICTIONLESS, plus `env` overrides."""
    return BotSettings.from_env({**FRICTIONLESS, **env})


def engine(strategy: Strategy, sink: ListSink, **env: str) -> TradingEngine:
    """A paper engine with the given strategy and settings overrides."""
    s = settings(**env)
    eng = TradingEngine(s, strategy, PaperBroker(s.fee_rate, s.quote_asset, s.slippage_bps), sink)
    sink.engine = eng
    return eng


def tick(symbol: str, price: str | Decimal) -> Tick:
    """A tick at a fixed time."""
    return Tick(symbol=symbol, price=Decimal(price), ts=T0)


def trade_data(trade_id: str, side: Side, qty: str, price: str, at: datetime, symbol: str = "BTCUSDT") -> TradeData:
    """A fee-free ledger entry (its realised P&L is not read back: restore recomputes it)."""
    return TradeData(
        trade_id=trade_id, symbol=symbol, side=side, qty=Decimal(qty), price=Decimal(price),
        quote_qty=Decimal(qty) * Decimal(price), fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(0),
        executed_at=at,
    )
