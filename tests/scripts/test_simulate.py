"""The seeded 30-simulated-minute run of the defaults: a believable market at a pace a person can follow."""

from __future__ import annotations

import pytest

from bot.config import BotSettings
from scripts.simulate import main, simulate, survey

DEFAULT_SEED = BotSettings.from_env({}).sim_seed


async def test_thirty_simulated_minutes_of_the_defaults() -> None:
    figures = await simulate(30, DEFAULT_SEED)
    assert set(figures.volatility) == {"BTCUSDT", "ETHUSDT"}
    for symbol, volatility in figures.volatility.items():
        assert 0.0003 <= volatility <= 0.002, symbol  # real BTC/ETH: about 0.05-0.1 % a minute
    assert 10 <= figures.trades <= 30  # one every minute or two, not one a tick
    assert figures.first_trade_after is not None and figures.first_trade_after <= 120  # a fresh make run trades soon
    assert figures.fees > 0 and abs(figures.equity - figures.starting_cash) < 100
    # Pinned (docs/trading.md quotes them): a change to the defaults or the walk is noticed.
    assert (figures.trades, figures.first_trade_after) == (17, 0.5)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_other_seeds_stay_in_the_same_bands(seed: int) -> None:
    figures = await simulate(30, seed)
    assert all(0.0003 <= v <= 0.002 for v in figures.volatility.values()), figures.volatility
    assert 5 <= figures.trades <= 40


def test_the_command_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--minutes", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"5 simulated minutes, seed {DEFAULT_SEED}: sma_cross (SMA_FAST=2 SMA_SLOW=4) on 60 s closes")
    for text in ("1-minute volatility: BTCUSDT ", "trades: ", "fees paid: ", "final equity: "):
        assert text in out, text
    with pytest.raises(ValueError, match="minutes"):
        main(["--minutes", "0"])


def test_most_seeds_trade_at_once_and_all_within_two_minutes() -> None:
    # The strategy joins a rising trend at start: a first trade need not wait for a crossover.
    summary = survey(30, 8).splitlines()[-1]
    at_once, _, seeds, *_ = summary.split()
    assert int(seeds) == 8 and int(at_once) >= 5, summary
    assert summary.endswith("8 within 2 minutes"), summary
