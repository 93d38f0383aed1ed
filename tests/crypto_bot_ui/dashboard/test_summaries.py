"""The overview's line per bot, kept current from its events: after each fill's `portfolio` it
says what a summary made from the full status at that seq says."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.engine import TradingEngine
from bot.market.base import Tick
from bot_api.events import BotEvent, PortfolioEvent, StatusEvent
from crypto_bot_ui.dashboard.summaries import summary_of, updated
from scripts.bench.frames import Flip


class Snapshots:
    """Each event with the engine's full status as of it."""

    def __init__(self) -> None:
        self.engine: TradingEngine | None = None
        self.pairs: list[tuple[BotEvent, StatusEvent]] = []

    async def emit(self, event: BotEvent) -> None:
        assert self.engine is not None
        self.pairs.append((event, self.engine.snapshot()))


async def test_a_summary_followed_through_fills_equals_one_made_from_the_status() -> None:
    settings = BotSettings.from_env({"SYMBOLS": "BTCUSDT,ETHUSDT", "STRATEGY_TIMEFRAME": "0", "SLIPPAGE_BPS": "0"})
    sink = Snapshots()
    engine = sink.engine = TradingEngine(settings, Flip(), PaperBroker(settings.fee_rate, "USDT"), sink)
    rng = random.Random(7)
    prices = {"BTCUSDT": Decimal(60000), "ETHUSDT": Decimal(3000)}
    for _ in range(60):
        symbol = rng.choice(list(prices))
        prices[symbol] = (prices[symbol] * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(Decimal("0.01"))
        await engine.on_tick(Tick(symbol=symbol, price=prices[symbol], ts=datetime(2026, 1, 1, tzinfo=UTC)))
    await engine.publish_status()
    summary = summary_of(sink.pairs[0][1], online=True, last_seen=None)
    followed = 0
    for event, status in sink.pairs:
        summary = updated(summary, event) or summary
        if isinstance(event, PortfolioEvent):
            followed += 1
            assert summary == summary_of(status, online=True, last_seen=None)
    assert followed > 20
