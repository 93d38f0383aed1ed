"""Users' alert rules: each kind fires once per crossing, re-arms only past its hysteresis band, ignores late
observations, and keeps a small JSON state that can be saved and reloaded between any two observations."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crypto_bot_ui.notify.alert_rules import (
    BUCKETS_PER_WINDOW,
    AlertKind,
    AlertRule,
    AlertState,
    Firing,
    Observation,
    evaluate,
    rule_problem,
    watches,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def d(value: str | int) -> Decimal:
    """A Decimal from a literal, never through a float."""
    return Decimal(value)


def run(rule: AlertRule, values: Sequence[str | int | Decimal], *, times: Sequence[datetime] | None = None,
        state: AlertState | None = None, restart: bool = False) -> tuple[list[Firing], AlertState]:
    """The firings of `rule` over `values` (one a second unless `times`), and the last state. With `restart`, the
    state goes through JSON text between every two observations, as it does in the database."""
    state = state or AlertState()
    firings: list[Firing] = []
    for i, value in enumerate(values):
        at = times[i] if times else T0 + timedelta(seconds=i)
        state, firing = evaluate(rule, state, Observation(at, Decimal(value)))
        if firing:
            firings.append(firing)
        if restart:
            state = AlertState.from_json(json.loads(json.dumps(state.to_json())))
    return firings, state


def fired_at(rule: AlertRule, values: Sequence[str | int | Decimal]) -> list[int]:
    """Indexes of the observations in `values` that fired (one a second from T0)."""
    firings, _ = run(rule, values)
    return [round((firing.at - T0).total_seconds()) for firing in firings]


# -- price_above / price_below: level crossings ------------------------------------------------------------------

ABOVE_100 = AlertRule(AlertKind.PRICE_ABOVE, d(100))  # default band 0.2 %: re-arms at <= 99.8
BELOW_100 = AlertRule(AlertKind.PRICE_BELOW, d(100))  # re-arms at >= 100.2


def test_price_above_fires_on_the_crossing_not_before() -> None:
    assert fired_at(ABOVE_100, ["99", "99.5", "99.99", "100", "100.5"]) == [3]
    firings, _ = run(ABOVE_100, ["99", "65012.3"])
    assert firings[0].text == "crossed above 100 at 65,012.3"
    assert firings[0].value == d("65012.3")


def test_price_above_hovering_inside_the_band_fires_once_then_rearms_past_it() -> None:
    hover = ["99", "100.1", "99.9", "100.05", "99.81", "100.2", "99.95"]
    assert fired_at(ABOVE_100, hover) == [1]
    # 99.8 = 100 * (1 - 0.002) exactly: re-arms (that observation does not fire), the next crossing fires.
    assert fired_at(ABOVE_100, [*hover, "99.8", "100"]) == [1, 8]


def test_price_above_created_above_the_level_waits_for_a_crossing() -> None:
    assert fired_at(ABOVE_100, ["101", "102", "99.9", "100.1"]) == []  # 99.9 is not past the band
    assert fired_at(ABOVE_100, ["101", "99.7", "100"]) == [2]
    assert fired_at(ABOVE_100, ["99.9", "100"]) == [1]  # first seen below (even inside the band): armed


def test_price_below_mirrors_price_above() -> None:
    assert fired_at(BELOW_100, ["101", "100.5", "100.01", "100", "99"]) == [3]
    hover = ["101", "99.9", "100.1", "99.95", "100.19", "99"]
    assert fired_at(BELOW_100, hover) == [1]
    assert fired_at(BELOW_100, [*hover, "100.2", "99.99"]) == [1, 7]
    assert fired_at(BELOW_100, ["99", "98", "100.1", "99"]) == []  # created below: needs a way back up first
    firings, _ = run(BELOW_100, ["101", "99.5"])
    assert firings[0].text == "crossed below 100 at 99.5"


def test_zero_hysteresis_rearms_as_soon_as_the_price_is_back_across() -> None:
    rule = AlertRule(AlertKind.PRICE_ABOVE, d(100), hysteresis=d(0))
    # Sitting exactly on the level is not a way back: it fires once, not on every other tick.
    assert fired_at(rule, ["99", "100", "100", "100", "99.99", "100"]) == [1, 5]


def test_late_observations_are_ignored() -> None:
    _, state = run(ABOVE_100, ["99"], times=[T0 + timedelta(seconds=10)])
    late, firing = evaluate(ABOVE_100, state, Observation(T0, d(101)))
    assert (late, firing) == (state, None)
    state, firing = evaluate(ABOVE_100, state, Observation(T0 + timedelta(seconds=11), d(101)))
    assert firing is not None
    # An old low price must not re-arm it either.
    late, firing = evaluate(ABOVE_100, state, Observation(T0 + timedelta(seconds=5), d(50)))
    assert (late, firing) == (state, None)
    # Same instant in another zone is the same time: accepted.
    same = (T0 + timedelta(seconds=11)).astimezone(timezone(timedelta(hours=2)))
    assert evaluate(ABOVE_100, state, Observation(same, d(50)))[0].armed is True


def test_non_positive_prices_are_ignored_as_glitches() -> None:
    assert fired_at(ABOVE_100, ["99", "0", "-1", "100"]) == [3]
    assert fired_at(AlertRule(AlertKind.PRICE_MOVE, d(5), window_minutes=5), ["100", "0", "101"]) == []


# -- threshold alerts ---------------------------------------------------------------------------------------------

LOSS_100 = AlertRule(AlertKind.DAILY_PNL_BELOW, d(100))  # default band 10 % of 100: re-arms at >= -90


def test_daily_pnl_below_fires_on_the_first_observation_already_below() -> None:
    firings, _ = run(LOSS_100, ["-150.5"])
    assert [(f.value, f.text) for f in firings] == [(d("-150.5"), "today's P&L is -150.5, at or below -100")]
    assert fired_at(LOSS_100, ["12", "-50", "-99.99", "-100"]) == [3]


def test_daily_pnl_below_rearms_only_past_the_band() -> None:
    assert fired_at(LOSS_100, ["-150", "-95", "-105", "-90.01", "-120"]) == [0]
    assert fired_at(LOSS_100, ["-150", "-95", "-105", "-90", "-100"]) == [0, 4]
    assert fired_at(LOSS_100, ["-101", "0", "-101"]) == [0, 2]  # a new day's P&L starts at 0: re-armed


DRAWDOWN_10 = AlertRule(AlertKind.DRAWDOWN, d(10))  # re-arms at a drawdown <= 9 %


def test_drawdown_fires_at_y_percent_below_the_running_peak() -> None:
    assert fired_at(DRAWDOWN_10, ["1000", "950", "901", "900", "905", "890", "920"]) == [3]
    assert fired_at(DRAWDOWN_10, ["1000", "1200", "1081", "1080"]) == [3]  # measured from the new peak
    firings, state = run(DRAWDOWN_10, ["10000", "8999.99"])
    assert firings[0].text == "equity 8,999.99 is 10% below its peak of 10,000"
    assert state.peak == d(10000)


def test_drawdown_rearms_past_the_band_and_not_before() -> None:
    assert fired_at(DRAWDOWN_10, ["1000", "900", "909", "895"]) == [1]  # 9.1 %: still disarmed
    assert fired_at(DRAWDOWN_10, ["1000", "900", "910", "900"]) == [1, 3]  # 9 % re-arms
    assert fired_at(DRAWDOWN_10, ["-5", "-10", "0", "-3"]) == []  # no positive peak: no drawdown to speak of


MOVE_5_IN_10 = AlertRule(AlertKind.PRICE_MOVE, d(5), window_minutes=10)  # re-arms at a move <= 2.5 %


def minutes(*offsets: float) -> list[datetime]:
    """Times at these minutes after T0."""
    return [T0 + timedelta(minutes=offset) for offset in offsets]


def test_price_move_fires_up_or_down_within_the_window() -> None:
    firings, _ = run(MOVE_5_IN_10, ["100", "102", "105"], times=minutes(0, 1, 2))
    assert [f.text for f in firings] == ["moved +5% within 10 min, to 105"]
    firings, _ = run(MOVE_5_IN_10, ["100", "98", "95.5", "95"], times=minutes(0, 3, 6, 9))
    assert [f.text for f in firings] == ["moved -5% within 10 min, to 95"]
    assert run(MOVE_5_IN_10, ["100", "105"], times=minutes(0, 10))[0]  # exactly N minutes apart: still inside


def test_price_move_spread_over_more_than_the_window_does_not_fire() -> None:
    prices = [str(100 + i) for i in range(8)]  # +1 every 3 minutes: 7 % in 21 minutes, < 4 % in any 10
    assert run(MOVE_5_IN_10, prices, times=minutes(*range(0, 24, 3)))[0] == []
    # Past the window by more than one bucket (10 min / 64 = 9.375 s), the old price no longer counts.
    assert run(MOVE_5_IN_10, ["100", "105"], times=[T0, T0 + timedelta(minutes=10, seconds=10)])[0] == []


def test_price_move_fires_once_per_episode_and_rearms_when_the_window_calms() -> None:
    after = ["104.9", "105.3", "104", "105"]  # still >= 2.5 % from the window's 100: disarmed
    prices = ["100", "105", *after]
    times = minutes(0, 1, 2, 3, 4, 5)
    firings, state = run(MOVE_5_IN_10, prices, times=times)
    assert [f.at for f in firings] == [times[1]]
    # Twelve minutes later only ~105 is in the window: re-armed (no firing), and the next 5 % fires again.
    firings, _ = run(MOVE_5_IN_10, ["105", "110.25"], times=minutes(17, 18), state=state)
    assert [f.value for f in firings] == [d("110.25")]


def test_price_move_a_steady_trend_fires_once() -> None:
    prices = [Decimal(100) * Decimal("1.01") ** i for i in range(60)]  # +1 % a minute for an hour
    assert len(run(MOVE_5_IN_10, prices, times=minutes(*range(60)))[0]) == 1


# -- the crossing property, over random paths ---------------------------------------------------------------------


def crossing_path(rng: random.Random, rule: AlertRule) -> tuple[list[Decimal], int]:
    """A random path that makes exactly K real crossings of `rule`'s level, with noise, and K itself.

    Built from excursions: from the arming side, the price reaches the level, jitters on both sides of it but never
    back past the band, then (except maybe the last time) returns past the band. The expected count is K by
    construction, not by any crossing detector."""
    level, band = rule.level, rule.level * rule.band_fraction
    toward = 1 if rule.kind == AlertKind.PRICE_ABOVE else -1  # the direction of a firing crossing

    def far() -> Decimal:  # at or past the re-arm point (k = 0 lands exactly on it)
        return level - toward * (band + level * Decimal(rng.randint(0, 100)) / 1000)

    def near() -> Decimal:  # strictly between the re-arm point and the level
        return level - toward * band * Decimal(rng.randint(1, 999)) / 1000

    def over() -> Decimal:  # at or past the level, by up to 0.5 %
        return level + toward * level * Decimal(rng.randint(0, 50)) / 10_000

    path: list[Decimal] = []
    if rng.random() < 0.3:  # created on the firing side: not a crossing, whatever the noise
        path += [over(), *(rng.choice([over, near])() for _ in range(rng.randint(0, 6)))]
        path.append(far())
    else:  # created on the arming side (even inside the band): armed
        path.append(rng.choice([far, near])())
    excursions = rng.randint(0, 8)
    for i in range(excursions):
        path += [rng.choice([far, near])() for _ in range(rng.randint(0, 5))]
        path.append(over())
        path += [rng.choice([near, over])() for _ in range(rng.randint(0, 12))]
        if i < excursions - 1 or rng.random() < 0.5:
            path.append(far())
    return path, excursions


@pytest.mark.parametrize("kind", [AlertKind.PRICE_ABOVE, AlertKind.PRICE_BELOW])
def test_random_noisy_paths_fire_exactly_once_per_crossing(kind: AlertKind) -> None:
    noisier = 0
    for seed in range(200):
        rng = random.Random(seed)
        hysteresis = rng.choice([None, d("0.001"), d("0.005"), d("0.02")])
        rule = AlertRule(kind, Decimal(rng.randint(100, 10_000_000)) / 100, hysteresis=hysteresis)
        path, expected = crossing_path(rng, rule)
        times = [T0]
        while len(times) < len(path):
            times.append(times[-1] + timedelta(seconds=rng.randint(0, 30)))  # 0: equal times are accepted
        assert len(run(rule, path, times=times)[0]) == expected, f"seed {seed}"
        # Without hysteresis the same noise would fire more often: the paths do test the band.
        beyond = [(p >= rule.level) if kind == AlertKind.PRICE_ABOVE else (p <= rule.level) for p in path]
        naive = sum(1 for was, now in itertools.pairwise(beyond) if now and not was)
        noisier += naive > expected
    assert noisier > 100


# -- state: JSON round trips and bounds -----------------------------------------------------------------------------

RANDOM_RULES: list[tuple[AlertRule, Callable[[random.Random, Decimal], Decimal]]] = [
    (AlertRule(AlertKind.PRICE_ABOVE, d(100)), lambda rng, p: p * Decimal(rng.randint(990, 1010)) / 1000),
    (AlertRule(AlertKind.PRICE_BELOW, d(100)), lambda rng, p: p * Decimal(rng.randint(990, 1010)) / 1000),
    (AlertRule(AlertKind.PRICE_MOVE, d(2), window_minutes=3),
     lambda rng, p: p * Decimal(rng.randint(995, 1005)) / 1000),
    (AlertRule(AlertKind.DAILY_PNL_BELOW, d(100)), lambda rng, p: p + Decimal(rng.randint(-2500, 2500)) / 100),
    (AlertRule(AlertKind.DRAWDOWN, d(5)), lambda rng, p: p * Decimal(rng.randint(985, 1015)) / 1000),
]


@pytest.mark.parametrize(("rule", "step"), RANDOM_RULES, ids=[rule.kind for rule, _ in RANDOM_RULES])
def test_restarting_between_any_two_observations_changes_nothing(
    rule: AlertRule, step: Callable[[random.Random, Decimal], Decimal]
) -> None:
    total = 0
    for seed in range(30):
        rng = random.Random(seed)
        values = [Decimal(100)]
        for _ in range(300):
            values.append(step(rng, values[-1]).quantize(Decimal("0.0001")))
        times = [T0 + timedelta(seconds=7 * i) for i in range(len(values))]
        straight = run(rule, values, times=times)
        restarted = run(rule, values, times=times, restart=True)
        assert restarted == straight, f"seed {seed}"
        total += len(straight[0])
    assert total > 30  # the paths do fire, more than once


def test_a_restart_right_after_firing_does_not_fire_again() -> None:
    _, state = run(ABOVE_100, ["99", "101"])
    reloaded = AlertState.from_json(json.loads(json.dumps(state.to_json())))
    assert reloaded == state
    assert run(ABOVE_100, ["100.5", "101"], times=minutes(1, 2), state=reloaded)[0] == []


def test_a_fresh_database_row_is_a_new_alert() -> None:
    assert AlertState.from_json({}) == AlertState()


@pytest.mark.parametrize("data", [
    {"armed": "yes"}, {"last_ms": 1.5}, {"last_ms": True}, {"peak": 1.5}, {"peak": "NaN"}, {"peak": "abc"},
    {"buckets": [[1, "x", "2"]]}, {"buckets": [[1, "1"]]}, {"buckets": [["1", "1", "2"]]}, {"buckets": 3},
])
def test_malformed_state_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not an alert state"):
        AlertState.from_json(data)


@pytest.mark.parametrize("window", [1, 1440])
def test_the_price_move_window_stays_small(window: int) -> None:
    rule = AlertRule(AlertKind.PRICE_MOVE, d(3), window_minutes=window)
    rng, price, state, most, longest = random.Random(window), Decimal(60000), AlertState(), 0, 0
    for second in range(100_000):
        price = max(Decimal(1), price + Decimal(rng.randint(-500, 500)) / 100)
        state, _ = evaluate(rule, state, Observation(T0 + timedelta(seconds=second), price))
        most = max(most, len(state.buckets))
        if second % 97 == 0:  # dumping every state would take longer than evaluating it
            longest = max(longest, len(json.dumps(state.to_json())))
    assert most <= BUCKETS_PER_WINDOW + 2
    assert longest < 4096


# -- rules ----------------------------------------------------------------------------------------------------------

GOOD_RULES = [
    AlertRule(AlertKind.PRICE_ABOVE, d("0.00001234")),
    AlertRule(AlertKind.PRICE_BELOW, d(65000), hysteresis=d(0)),
    AlertRule(AlertKind.PRICE_MOVE, d(100), window_minutes=1440, hysteresis=d("0.5")),
    AlertRule(AlertKind.DAILY_PNL_BELOW, d("250.5")),
    AlertRule(AlertKind.DRAWDOWN, d("0.5")),
]
BAD_RULES = [
    (AlertRule("price_sideways", d(1)), "Unknown alert kind"),  # type: ignore[arg-type]
    (AlertRule(AlertKind.PRICE_ABOVE, d(0)), "above 0"),
    (AlertRule(AlertKind.PRICE_BELOW, d("NaN")), "must be a number"),
    (AlertRule(AlertKind.PRICE_ABOVE, 5.0), "must be a number"),  # type: ignore[arg-type]
    (AlertRule(AlertKind.DAILY_PNL_BELOW, d(-100)), "positive amount"),
    (AlertRule(AlertKind.DRAWDOWN, d(101)), "at most 100"),
    (AlertRule(AlertKind.PRICE_MOVE, d(0), window_minutes=5), "above 0"),
    (AlertRule(AlertKind.PRICE_MOVE, d(5)), "window of 1 to 1440"),
    (AlertRule(AlertKind.PRICE_MOVE, d(5), window_minutes=1441), "window of 1 to 1440"),
    (AlertRule(AlertKind.PRICE_MOVE, d(5), window_minutes=True), "window of 1 to 1440"),
    (AlertRule(AlertKind.DRAWDOWN, d(5), window_minutes=5), "Only price move"),
    (AlertRule(AlertKind.PRICE_ABOVE, d(5), hysteresis=d("0.6")), "hysteresis"),
    (AlertRule(AlertKind.PRICE_ABOVE, d(5), hysteresis=d("-0.1")), "hysteresis"),
]


@pytest.mark.parametrize("rule", GOOD_RULES, ids=[rule.kind for rule in GOOD_RULES])
def test_valid_rules_have_no_problem(rule: AlertRule) -> None:
    assert rule_problem(rule) is None


@pytest.mark.parametrize(("rule", "message"), BAD_RULES)
def test_invalid_rules_are_explained_and_not_evaluated(rule: AlertRule, message: str) -> None:
    problem = rule_problem(rule)
    assert problem is not None and message in problem
    with pytest.raises(ValueError, match=message):
        evaluate(rule, AlertState(), Observation(T0, d(1)))


def test_each_kind_watches_one_input_and_plain_strings_work_as_kinds() -> None:
    assert {kind: watches(kind) for kind in AlertKind} == {
        AlertKind.PRICE_ABOVE: "price", AlertKind.PRICE_BELOW: "price", AlertKind.PRICE_MOVE: "price",
        AlertKind.DAILY_PNL_BELOW: "daily_pnl", AlertKind.DRAWDOWN: "equity",
    }
    rule = AlertRule("price_above", d(100))  # type: ignore[arg-type]  # as read from a database row
    assert fired_at(rule, ["99", "100"]) == [1]


def test_observations_need_an_aware_time_and_a_decimal() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Observation(datetime(2025, 1, 1), d(1))
    with pytest.raises(ValueError, match="finite Decimal"):
        Observation(T0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite Decimal"):
        Observation(T0, d("Infinity"))
