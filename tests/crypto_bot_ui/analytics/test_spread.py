"""Results per bot/strategy/symbol, the P&L histogram and holding times, and the curves: small
histories whose answers are worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crypto_bot_ui.analytics.breakdown import comparison
from crypto_bot_ui.analytics.curve import curves, deepest, with_drawdown
from crypto_bot_ui.analytics.distribution import distribution, nice_width
from crypto_bot_ui.analytics.performance import performance
from crypto_bot_ui.analytics.periods import Period
from crypto_bot_ui.trades.models import EquitySnapshot, Trade
from tests.crypto_bot_ui.analytics.conftest import MakeTrade, Store

pytestmark = [pytest.mark.db, pytest.mark.django_db]

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def book(make_trade: MakeTrade, store: Store) -> None:
    """alpha: BTC bought, sold for +30 after 10 min, bought, sold half (-5) at 2 h and the rest (-15) at 3 h;
    beta (mean_reversion): ETH bought and sold for +12.5 after 30 s; a sell before any buy (no hold)."""
    store([
        make_trade(at=minutes(0), side="buy", fee="1"),
        make_trade(at=minutes(10), pnl="30", fee="1"),
        make_trade(at=minutes(20), side="buy", fee="0.5"),
        make_trade(at=minutes(140), pnl="-5", fee="0.25"),
        make_trade(at=minutes(200), pnl="-15", fee="0.25"),
        make_trade(at=minutes(1), bot="beta", symbol="ETHUSDT", strategy="mean_reversion", side="buy"),
        make_trade(at=minutes(1.5), bot="beta", symbol="ETHUSDT", strategy="mean_reversion", pnl="12.5"),
        make_trade(at=minutes(-60), bot="beta", symbol="SOLUSDT", strategy="", pnl="0"),
    ])


def test_results_per_bot_strategy_and_symbol(book: None) -> None:
    found = comparison(bot_id=None)
    total = found.total
    assert (total.trades, total.closed, total.wins, total.losses) == (8, 5, 2, 2)
    assert (total.total, total.fees, total.gross_profit, total.gross_loss) == (
        Decimal("22.5"), Decimal(3), Decimal("42.5"), Decimal(20))
    assert (total.win_rate, total.profit_factor, total.expectancy) == (Decimal("0.4"), Decimal("2.125"), Decimal("4.5"))
    assert [(r.key, r.trades, r.total) for r in found.by_bot] == [
        ("alpha", 5, Decimal(10)), ("beta", 3, Decimal("12.5"))]
    assert [(r.key, r.closed) for r in found.by_strategy] == [("", 1), ("mean_reversion", 1), ("sma_cross", 3)]
    assert [r.key for r in found.by_symbol] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    beta = comparison(bot_id="beta").total
    assert beta.profit_factor is None and beta.win_rate == Decimal("0.5")  # no loss: no factor
    assert comparison(bot_id="alpha", since=minutes(100)).total.total == Decimal(-20)
    assert comparison(bot_id="nobody").total.win_rate is None


def test_the_pnl_histogram_has_zero_as_an_edge(book: None) -> None:
    found = distribution(bot_id=None)
    assert found.closed == 5 and found.width == Decimal(5)  # span 45 over ~20 bins: 5
    assert (found.pnl[0].low, found.pnl[-1].high) == (Decimal(-15), Decimal(35))
    counts = {bin.low: bin.count for bin in found.pnl}
    assert counts[Decimal(-15)] == 1 and counts[Decimal(-5)] == 1 and counts[Decimal(0)] == 1
    assert counts[Decimal(10)] == 1 and counts[Decimal(30)] == 1 and sum(counts.values()) == 5


def test_holding_times_run_from_the_buy_that_opened_the_position(book: None) -> None:
    found = distribution(bot_id=None)
    held = {bin.low: (bin.count, bin.wins, bin.losses) for bin in found.holding if bin.count}
    # 30 s (beta), 10 min (+30), 2 h and 3 h after the buy at 20 min (-5, -15); the lone sell has no hold
    assert held == {0: (1, 1, 0), 300: (1, 1, 0), 3600: (2, 0, 2)}
    assert found.mean_win_seconds == (30 + 600) // 2 and found.mean_loss_seconds == (7200 + 10800) // 2
    later = distribution(bot_id="alpha", since=minutes(100))  # the buy before the range still opens it
    assert {b.low: b.count for b in later.holding if b.count} == {3600: 2}


def test_nice_widths() -> None:
    assert [nice_width(span) for span in (0, 1, 20, 21, 45, 101, 999, 10**9)] == [1, 1, 1, 2, 5, 10, 50, 50_000_000]


def point(bot: str, n: int, at: datetime, equity: str) -> EquitySnapshot:
    money = Decimal(equity)
    return EquitySnapshot(bot_id=bot, seq=n, taken_at=at, equity=money, cash=money, realized_pnl=Decimal(0),
                          unrealized_pnl=Decimal(0), total_pnl=Decimal(0))


def test_the_equity_curve_sums_bots_and_finds_the_deepest_drawdown(book: None) -> None:
    EquitySnapshot.objects.bulk_create([
        point("alpha", 1, minutes(0), "1000"), point("alpha", 2, minutes(10), "1100"),
        point("alpha", 3, minutes(20), "990"), point("alpha", 4, minutes(30), "1200"),
        point("beta", 1, minutes(5), "500"), point("beta", 2, minutes(25), "400"),
    ])
    found = curves(bot_id=None)
    assert [(p.at, p.equity) for p in found.equity] == [
        (minutes(0), Decimal(1000)), (minutes(5), Decimal(1500)), (minutes(10), Decimal(1600)),
        (minutes(20), Decimal(1490)), (minutes(25), Decimal(1390)), (minutes(30), Decimal(1600))]
    drop = found.max_drawdown
    assert drop is not None and (drop.amount, drop.pct) == (Decimal(210), Decimal("13.1250"))
    assert (drop.peak_at, drop.trough_at, drop.recovered_at) == (minutes(10), minutes(25), minutes(30))
    alpha = curves(bot_id="alpha")
    assert alpha.max_drawdown is not None and alpha.max_drawdown.amount == Decimal(110)


def test_a_long_history_is_shown_at_a_coarser_step() -> None:
    EquitySnapshot.objects.bulk_create([point("alpha", n, T0 + timedelta(seconds=10 * n), str(1000 + n))
                                        for n in range(25_000)])  # 69 hours of points every 10 s
    found = curves(bot_id="alpha")
    assert found.step_seconds == 600 and len(found.equity) == 417 and found.equity[1].at == T0 + timedelta(minutes=10)
    assert found.equity[-1].equity == Decimal(25_999) and found.max_drawdown is None
    # A range that ends inside a step: what was recorded after its end is not used.
    until = T0 + timedelta(hours=30, seconds=5)  # 5 s into the step from 30:00 to 30:01
    cut = curves(bot_id="alpha", since=T0, until=until)
    assert cut.step_seconds == 60 and cut.equity[-1].equity == Decimal(1000 + 30 * 360)


def test_no_fall_is_no_drawdown() -> None:
    assert deepest(with_drawdown([(T0, Decimal(1)), (minutes(1), Decimal(2))])) is None
    assert deepest([]) is None


@pytest.mark.parametrize("size", ["123456.78901234", "98765432.1", "123456789012.3", "-40000000000000.26"])
def test_large_amounts_sum_exactly_and_bin_without_overflow(make_trade: MakeTrade, store: Store, size: str) -> None:
    """SQLite keeps 15 digits of an amount: sums stay exact to what it keeps, and nothing overflows."""
    store([make_trade(at=minutes(n), pnl=Decimal(size) * (n + 1), fee="0.00000001") for n in range(3)]
          + [make_trade(at=minutes(5), pnl="-0.00000001")])
    kept = sum((t.realized_pnl for t in Trade.objects.all()), Decimal(0))  # as the database reads them back
    assert comparison(bot_id=None).total.total == kept
    assert sum((r.totals.realized_pnl for r in performance(bot_id=None, period=Period.DAY, zone=ZoneInfo("UTC"))),
               Decimal(0)) == kept
    spread = distribution(bot_id=None)
    assert sum(b.count for b in spread.pnl) == 4 and spread.pnl[0].low <= min(Decimal(size) * 3, Decimal(0))
