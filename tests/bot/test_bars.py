"""Strategies decide on closed bars of STRATEGY_TIMEFRAME: bar closes, the engine, the warm-up."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.market.base import Tick
from bot.strategy.bars import WARM_UP_BARS, BarCloses
from bot.strategy.base import Signal
from bot.strategy.sma_cross import SmaCrossStrategy
from bot_api.candles import Candle
from bot_api.events import Side
from tests.bot.fakes import ListSink, ScriptedStrategy, engine

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


class Recorder:
    """Records the closes it is given; never signals."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[str, Decimal]] = []
        self.started_at: int | None = None
        self.fresh: list[str] = []

    def started(self, fresh: Collection[str]) -> None:
        self.started_at = len(self.seen)
        self.fresh = sorted(fresh)

    def on_price(self, symbol: str, price: Decimal, position_qty: Decimal) -> Signal | None:
        self.seen.append((symbol, price))
        return None


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_new_bar_hands_back_the_close_of_the_one_before() -> None:
    bars = BarCloses(60)
    assert [bars.close("BTCUSDT", Decimal(p), at(s)) for s, p in ((0, 1), (20, 2), (59.9, 3))] == [None] * 3
    assert bars.close("ETHUSDT", Decimal(50), at(30)) is None  # each symbol has its own bars
    assert bars.close("BTCUSDT", Decimal(4), at(60)) == 3  # the last price of 10:00 is its close
    assert bars.close("BTCUSDT", Decimal(9), at(30)) is None  # late: 10:00 is done, nothing rewritten
    assert bars.close("BTCUSDT", Decimal(5), at(61)) is None
    assert bars.close("BTCUSDT", Decimal(6), at(300)) == 5  # minutes without ticks give no close
    assert bars.close("ETHUSDT", Decimal(51), at(60)) == 50


def test_timeframe_0_makes_every_price_a_close() -> None:
    bars = BarCloses(0)
    assert [bars.close("BTCUSDT", Decimal(p), T0) for p in (1, 2, 3)] == [1, 2, 3]
    with pytest.raises(ValueError, match="timeframe"):
        BarCloses(-1)


def candles(*closes: int, start: datetime = T0, interval: int = 60) -> list[Candle]:
    t = int(start.timestamp())
    return [Candle(time=t + n * interval, open=Decimal(c), high=Decimal(c), low=Decimal(c), close=Decimal(c))
            for n, c in enumerate(closes)]


def test_the_warm_up_feeds_the_closed_bars_but_the_last_which_the_first_tick_hands_over() -> None:
    strategy, bars = Recorder(), BarCloses(60)
    assert bars.warm_up(strategy, 60, {"BTCUSDT": candles(1, 2, 3, 4), "ETHUSDT": []}, at(190)) == 2
    # The fourth minute is the one being built (dropped: live ticks rebuild it); the third, closed,
    # is kept back so the strategy decides on it at the first live tick, not a minute later.
    assert strategy.seen == [("BTCUSDT", 1), ("BTCUSDT", 2)]
    assert strategy.started_at == 2 and strategy.fresh == ["BTCUSDT"]  # told after the history
    assert bars.close("BTCUSDT", Decimal(5), at(190)) == 3
    assert bars.close("BTCUSDT", Decimal(6), at(230)) is None  # the live bar
    assert bars.close("BTCUSDT", Decimal(7), at(240)) == 6


def test_the_warm_up_aggregates_candles_to_the_timeframe() -> None:
    strategy, bars = Recorder(), BarCloses(300)
    assert bars.warm_up(strategy, 60, {"BTCUSDT": candles(*range(1, 18))}, at(970)) == 2
    # 10:00-10:05 and 10:05-10:10 fed, 10:10-10:15 kept for the first tick, 10:15 is open.
    assert strategy.seen == [("BTCUSDT", 5), ("BTCUSDT", 10)]


@pytest.mark.parametrize(("timeframe", "interval"), [(0, 60), (15, 60), (90, 60)])
def test_no_warm_up_from_candles_a_bar_is_not_made_of(timeframe: int, interval: int) -> None:
    strategy = Recorder()
    assert BarCloses(timeframe).warm_up(strategy, interval, {"BTCUSDT": candles(1, 2, 3)}, at(150)) == 0
    assert strategy.seen == [] and strategy.started_at == 0


def test_the_warm_up_is_bounded_and_ends_ready_to_decide() -> None:
    strategy, bars = SmaCrossStrategy(2, 4), BarCloses(60)
    # A long fall, then a rise in the last closed bar: the first live tick hands it over.
    closes = [*range(2000, 1000, -1), 1001, 1005, 1010]
    assert bars.warm_up(strategy, 60, {"BTCUSDT": candles(*closes)}, at((len(closes) - 1) * 60 + 5)) == WARM_UP_BARS
    close = bars.close("BTCUSDT", Decimal(1011), at(len(closes) * 60 - 50))
    assert close == 1005
    signal = strategy.on_price("BTCUSDT", close, Decimal(0))
    assert signal is not None and signal.side is Side.BUY


def test_after_the_warm_up_sma_cross_joins_a_rising_trend_once() -> None:
    strategy, bars = SmaCrossStrategy(2, 4), BarCloses(60)
    # Rising all along: no crossover in sight, but the trend is up when the bot starts.
    closes = [*range(1000, 1100), 1101]
    bars.warm_up(strategy, 60, {"BTCUSDT": candles(*closes)}, at((len(closes) - 1) * 60 + 5))
    close = bars.close("BTCUSDT", Decimal(1102), at(len(closes) * 60 - 50))
    assert close is not None
    signal = strategy.on_price("BTCUSDT", close, Decimal(0))
    assert signal == Signal(Side.BUY, "SMA2 above SMA4 when the bot started (joining the trend)")
    # Sold by the operator during the same rise: no buy back until a new crossover.
    assert strategy.on_price("BTCUSDT", Decimal(1103), Decimal(0)) is None


async def test_the_engine_asks_the_strategy_on_bar_closes_and_trades_at_the_tick_price() -> None:
    sink = ListSink()
    strategy = ScriptedStrategy([Side.BUY])
    eng = engine(strategy, sink, STRATEGY_TIMEFRAME="60", ORDER_QUOTE="100")
    for seconds, price in ((0, "100"), (30, "101"), (59, "102")):
        await eng.on_tick(Tick("BTCUSDT", Decimal(price), at(seconds)))
    assert strategy.calls == 0 and len(sink.of_type("price_update")) == 3  # every price is still shown
    await eng.on_tick(Tick("BTCUSDT", Decimal("103"), at(60)))
    assert strategy.calls == 1
    (trade,) = sink.of_type("trade_executed")
    assert trade.data.price == Decimal("103")  # type: ignore[union-attr]


def test_a_history_that_stopped_long_ago_is_fed_but_never_decided_on() -> None:
    # The bot was away for an hour: its stored candles end at 10:10, it starts at 11:00:05.
    strategy, bars = Recorder(), BarCloses(60)
    assert bars.warm_up(strategy, 60, {"BTCUSDT": candles(*range(1, 11))}, at(3605)) == 10
    assert strategy.fresh == []  # nothing joins a trend seen an hour ago
    assert bars.close("BTCUSDT", Decimal(50), at(3606)) is None  # no old bar handed over at the first tick
    sma, sma_bars = SmaCrossStrategy(2, 4), BarCloses(60)
    sma_bars.warm_up(sma, 60, {"BTCUSDT": candles(*range(1000, 1100))}, at(100 * 60 + 3600))
    assert sma_bars.close("BTCUSDT", Decimal(1200), at(100 * 60 + 3601)) is None
    assert sma.on_price("BTCUSDT", Decimal(1201), Decimal(0)) is None  # rising, but no crossover: no buy


def test_a_kept_position_is_sold_at_start_when_the_trend_is_down() -> None:
    strategy, bars = SmaCrossStrategy(2, 4), BarCloses(60)
    closes = [*range(2000, 1900, -1), 1899]
    bars.warm_up(strategy, 60, {"BTCUSDT": candles(*closes)}, at((len(closes) - 1) * 60 + 5))
    close = bars.close("BTCUSDT", Decimal(1898), at((len(closes) - 1) * 60 + 6))
    assert close is not None
    signal = strategy.on_price("BTCUSDT", close, Decimal("0.5"))  # restored from the journal
    assert signal == Signal(Side.SELL, "SMA2 below SMA4 when the bot started (joining the trend)")
