"""`python -m scripts.simulate --minutes 30`: the default bot on the simulated market, without waiting.

The same parts `make run` starts with the default settings (the simulated market with its history,
the strategy on its timeframe, warmed up, the paper broker, the engine), fed ticks with synthetic
timestamps as fast as they compute. Prints what a person watching the dashboard would see.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.broker.paper import PaperBroker
from bot.config import BotSettings
from bot.engine import TradingEngine
from bot.market.base import Tick
from bot.market.sim import SimulatedMarket
from bot.market.sim_history import backfill
from bot.strategy import build_strategy
from bot_api.events import BotEvent

START = datetime(2026, 1, 1, tzinfo=UTC)
"""Where the simulated clock starts: fixed, so a seed always gives the same figures."""
MAX_MINUTES = 7 * 24 * 60
"""Longest run: a week of ticks."""


@dataclass(frozen=True)
class Figures:
    """What one run shows."""

    minutes: int
    volatility: dict[str, float]
    """Standard deviation of the 1-minute log returns, per symbol."""
    trades: int
    first_trade_after: float | None
    """Seconds from the start to the first trade (None: no trade)."""
    fees: Decimal
    equity: Decimal
    starting_cash: Decimal


class CountingSink:
    """An in-memory sink: counts the events by type (bounded, whatever the run's length)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    async def emit(self, event: BotEvent) -> None:
        """Count `event`."""
        self.counts[event.type] += 1


async def simulate(minutes: int, seed: int, env: Mapping[str, str] | None = None) -> Figures:
    """Run the default bot (with `env` overrides) for `minutes` simulated minutes from START."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"minutes must be between 1 and {MAX_MINUTES}, got {minutes}")
    settings = BotSettings.from_env({**(env or {}), "SIM_SEED": str(seed)})
    market = SimulatedMarket(settings.symbols, seed=settings.sim_seed, interval=settings.tick_interval)
    broker = PaperBroker(settings.fee_rate, settings.quote_asset, settings.slippage_bps)
    engine = TradingEngine(settings, build_strategy(settings), broker, CountingSink(), market_name=market.name)
    engine.restore([], None)
    # As the runner starts: a past for the chart, the strategy's windows filled from it.
    backfill(market, engine.candles, START)
    engine.bars.warm_up(engine.strategy, engine.candles.interval, engine.candles.base.data().symbols, START)
    first_trade_after = None
    rounds = round(minutes * 60 / settings.tick_interval)
    for n in range(1, rounds + 1):
        elapsed = n * settings.tick_interval
        at = START + timedelta(seconds=elapsed)
        for symbol, price in market.next_prices().items():
            await engine.on_tick(Tick(symbol=symbol, price=price, ts=at))
        if first_trade_after is None and engine.trade_count:
            first_trade_after = elapsed
    return Figures(
        minutes=minutes,
        volatility=minute_volatility(engine, START),
        trades=engine.trade_count,
        first_trade_after=first_trade_after,
        fees=engine.portfolio.stats.fees,
        equity=engine.portfolio.equity(engine.prices),
        starting_cash=settings.starting_cash,
    )


def minute_volatility(engine: TradingEngine, since: datetime) -> dict[str, float]:
    """Per symbol, the standard deviation of the log returns between the 1-minute closes since `since`."""
    book = engine.candles.base
    if book.interval != 60:
        raise ValueError(f"needs 1-minute candles, CANDLE_INTERVAL is {book.interval}")
    # From the close before `since` (the history's last) on: every live minute has its return.
    cutoff = int(since.timestamp()) - 60
    result = {}
    for symbol, candles in book.data().symbols.items():
        closes = [float(c.close) for c in candles if c.time >= cutoff]
        returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
        result[symbol] = statistics.stdev(returns) if len(returns) > 1 else 0.0
    return result


def report(figures: Figures, settings: BotSettings) -> str:
    """The figures as lines for a person."""
    quote = settings.quote_asset
    first = figures.first_trade_after
    lines = [
        f"{figures.minutes} simulated minutes, seed {settings.sim_seed}: {settings.strategy} "
        f"({settings.strategy_params.summary()}) on {settings.strategy_timeframe or 'every'} s closes, "
        f"ticks every {settings.tick_interval} s, {', '.join(settings.symbols)}",
        "1-minute volatility: " + ", ".join(f"{s} {v * 100:.3f} %" for s, v in figures.volatility.items()),
        f"trades: {figures.trades}, the first after "
        + ("none" if first is None else f"{int(first // 60)} min {first % 60:.1f} s"),
        f"fees paid: {figures.fees.quantize(Decimal('0.01'))} {quote}",
        f"final equity: {figures.equity.quantize(Decimal('0.01'))} {quote} "
        f"(started with {figures.starting_cash} {quote})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes to run (default 30)")
    default_seed = BotSettings.from_env({}).sim_seed
    parser.add_argument("--seed", type=int, default=default_seed,
                        help=f"SIM_SEED of the market (default {default_seed}, the bot's)")
    parser.add_argument("--seeds", type=int, default=0, help="instead: seeds 1..N, one line each, and a summary")
    args = parser.parse_args(argv)
    if args.seeds:
        print(survey(args.minutes, args.seeds))
        return 0
    figures = asyncio.run(simulate(args.minutes, args.seed))
    print(report(figures, BotSettings.from_env({"SIM_SEED": str(args.seed)})))
    return 0


def survey(minutes: int, seeds: int) -> str:
    """Seeds 1..`seeds`: trades and first trade of each, and how many traded within 2 minutes."""
    lines, firsts = [], []
    for seed in range(1, seeds + 1):
        figures = asyncio.run(simulate(minutes, seed))
        first = figures.first_trade_after
        firsts.append(first)
        lines.append(f"seed {seed}: {figures.trades} trades, the first after "
                     + ("none" if first is None else f"{first:.1f} s"))
    soon = sum(1 for f in firsts if f is not None and f <= 120)
    at_once = sum(1 for f in firsts if f is not None and f < 5)
    lines.append(f"{at_once} of {seeds} seeds traded at the first tick, {soon} within 2 minutes")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
