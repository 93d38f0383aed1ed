"""Trade statistics: ratios stay meaningful (and within the contract) however lopsided the trades."""

from __future__ import annotations

from decimal import Decimal

from bot.stats import RATIO_MAX, TradeStats


def test_a_loss_of_a_fraction_of_a_cent_caps_the_profit_factor() -> None:
    # Found by the P&L property test: 3.8E+18 does not fit the contract's money and means nothing.
    stats = TradeStats(starting_equity=Decimal(1_000_000))
    stats.record(symbol="BTCUSDT", closing=True, realized=Decimal("38213.48"), fee_quote=Decimal(0))
    stats.record(symbol="BTCUSDT", closing=True, realized=Decimal("-0.00000001"), fee_quote=Decimal(0))
    assert stats.data().profit_factor == RATIO_MAX
    stats.record(symbol="BTCUSDT", closing=True, realized=Decimal("-38213.47999999"), fee_quote=Decimal(0))
    assert stats.data().profit_factor == Decimal("1.0000")
