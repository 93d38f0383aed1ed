"""What a socket receives per trade, from the real engine: the bytes of the events one execution
emits (its `trade_executed` and the `portfolio` after it), against the full status it used to send.

The engine trades on a seeded random walk of three symbols (paper broker, every fill booked as the
bot books it) until its status holds a full page of recent trades; prices are left out of the
count (they flow whether anyone trades or not).

    python -m scripts.bench.frames
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.engine import RECENT_TRADES, TradingEngine
from bot.market.base import Tick
from bot.strategy.base import Signal
from bot_api.events import BotEvent, PriceUpdateEvent, Side, StatusEvent, encode_event

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
TRADES = 300


@dataclass
class FrameSizes:
    """Bytes per trade per socket, now and as it was (a full status after every fill)."""

    trades: int
    status_bytes: int
    """The full status with a page of recent trades (what a socket gets first, and on resync)."""
    per_trade_bytes: float
    """Mean bytes of the events one execution sends every socket (its fills and the account after)."""
    per_trade_before: float
    """The same with a full status after each execution (one with a page of recent trades, as
    every bot that has traded 50 times sends) instead of the account's delta."""


class Flip:
    """Buys when flat, sells when long: a fill on most prices."""

    name = "flip"

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        """Sell what is held, else buy."""
        return Signal(Side.SELL if position_qty > 0 else Side.BUY, "bench flip")


class _Sink:
    def __init__(self) -> None:
        self.events: list[BotEvent] = []

    async def emit(self, event: BotEvent) -> None:
        self.events.append(event)


async def _measure(trades: int, seed: int) -> FrameSizes:
    settings = BotSettings.from_env({"SYMBOLS": ",".join(SYMBOLS), "STRATEGY_TIMEFRAME": "0",
                                     "ORDER_QUOTE": "500", "STARTING_CASH": "100000"})
    sink = _Sink()
    engine = TradingEngine(settings, Flip(), PaperBroker(settings.fee_rate, settings.quote_asset,
                                                         settings.slippage_bps), sink)
    rng = random.Random(seed)  # noqa: S311 - a seeded walk, not a secret
    prices = {symbol: Decimal(base) for symbol, base in zip(SYMBOLS, ("65000", "3500", "150"), strict=True)}
    at = datetime(2026, 1, 1, tzinfo=UTC)
    while engine.trade_count < max(trades, RECENT_TRADES + 1):
        symbol = rng.choice(SYMBOLS)
        prices[symbol] = (prices[symbol] * Decimal(1 + rng.uniform(-0.002, 0.002))).quantize(Decimal("0.01"))
        await engine.on_tick(Tick(symbol=symbol, price=prices[symbol], ts=at))
    status = len(encode_event(engine.snapshot()))
    executions, now, before = 0, 0, 0
    group: list[BotEvent] = []
    for event in sink.events:
        if isinstance(event, PriceUpdateEvent | StatusEvent):
            continue
        group.append(event)
        if event.type == "portfolio":  # the end of one execution's events
            fills = sum(len(encode_event(e)) for e in group if e.type == "trade_executed")
            executions += 1
            now += fills + len(encode_event(event))
            before += fills + status
            group = []
    return FrameSizes(trades=engine.trade_count, status_bytes=status, per_trade_bytes=now / executions,
                      per_trade_before=before / executions)


def measure(trades: int = TRADES, seed: int = 19) -> FrameSizes:
    """Run the engine for `trades` fills (at least a page of recent trades) and size its frames."""
    return asyncio.run(_measure(trades, seed))


if __name__ == "__main__":
    sizes = measure()
    print(f"{sizes.trades} trades on {len(SYMBOLS)} symbols: status {sizes.status_bytes:,} B; per trade per socket "
          f"{sizes.per_trade_bytes:,.0f} B (was {sizes.per_trade_before:,.0f} B with a status after each)")
