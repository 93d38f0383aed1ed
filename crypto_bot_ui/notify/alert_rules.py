"""Users' alerts as pure logic: a rule, its small JSON state and an observation in; the next state and a firing out.

Units: prices, amounts and percentages are `Decimal` (strings in the persisted state). Timestamps are aware
`datetime`s in the API (naive ones are refused) and whole UTC epoch milliseconds in the state, which keeps it
short and exact.

Arming and hysteresis: an alert is armed or disarmed. An armed alert fires on the first observation that meets
its condition, and is then disarmed. It re-arms only once the watched value is back past the threshold by the
band, `hysteresis * |threshold|`. So noise around the threshold that stays inside the band fires once, not on
every tick. A hysteresis of 0 re-arms as soon as the condition stops holding. The re-arming observation never
fires; the next one can.

First observation (state `AlertState()`, as for a new or edited alert):
- crossing alerts (price_above, price_below) need a crossing. The first price only says which side the price is
  on. If the condition already holds, the alert starts disarmed, exactly as if it had just fired.
- threshold alerts (daily_pnl_below, drawdown, price_move) start armed and fire on the first observation that
  meets them. A loss limit that is already broken is worth telling at once. Drawdown and price_move cannot hold
  on a first observation anyway (no peak or window yet).

An observation older than the last one seen is ignored (same state, no firing): the inputs come from several
streams and replays, and an old value must not re-arm or fire an alert. Equal timestamps are accepted. A price
≤ 0 is ignored by the price alerts as a feed glitch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, Literal

Watched = Literal["price", "daily_pnl", "equity"]
Bucket = tuple[int, Decimal, Decimal]
"""A price_move window slot: (bucket index = epoch ms // bucket width, lowest price, highest price)."""


class AlertKind(StrEnum):
    """What an alert watches and when it fires."""

    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    PRICE_MOVE = "price_move"
    DAILY_PNL_BELOW = "daily_pnl_below"
    DRAWDOWN = "drawdown"


DEFAULT_HYSTERESIS: Final[Mapping[AlertKind, Decimal]] = {
    # 0.2 % of the price: above a tick's usual noise, well below a move anyone sets an alert for.
    AlertKind.PRICE_ABOVE: Decimal("0.002"),
    AlertKind.PRICE_BELOW: Decimal("0.002"),
    # Half the move: once an X % move fired, the window must calm to under X/2 % before another move counts.
    # Otherwise a steady trend would fire again each time an old extreme slides out of the window.
    AlertKind.PRICE_MOVE: Decimal("0.5"),
    # A tenth of the limit: P&L and drawdown swing with every mark-to-market, much more than 0.2 % of themselves.
    AlertKind.DAILY_PNL_BELOW: Decimal("0.1"),
    AlertKind.DRAWDOWN: Decimal("0.1"),
}
"""The hysteresis (a fraction of the rule's level) of a rule that sets none."""
MAX_HYSTERESIS: Final = Decimal("0.5")
MAX_WINDOW_MINUTES: Final = 1440
BUCKETS_PER_WINDOW: Final = 64
"""price_move keeps the min and max of each of ~64 time buckets per window, so at most 66 buckets (see evaluate)."""

_CROSSINGS: Final = frozenset({AlertKind.PRICE_ABOVE, AlertKind.PRICE_BELOW})
_WATCHES: Final[Mapping[AlertKind, Watched]] = {
    AlertKind.PRICE_ABOVE: "price", AlertKind.PRICE_BELOW: "price", AlertKind.PRICE_MOVE: "price",
    AlertKind.DAILY_PNL_BELOW: "daily_pnl", AlertKind.DRAWDOWN: "equity",
}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HUNDRED: Final = Decimal(100)


@dataclass(frozen=True)
class AlertRule:
    """A user's alert: `level` is a price, a loss amount given positive, or a percentage, depending on `kind`."""

    kind: AlertKind
    level: Decimal
    window_minutes: int | None = None
    hysteresis: Decimal | None = None  # a fraction of `level`; None: DEFAULT_HYSTERESIS[kind]

    @property
    def band_fraction(self) -> Decimal:
        """The hysteresis in force: this rule's own, else its kind's default."""
        return DEFAULT_HYSTERESIS[self.kind] if self.hysteresis is None else self.hysteresis


@dataclass(frozen=True)
class Observation:
    """One input value at one time: a price, today's P&L or the equity, whichever the rule `watches`."""

    at: datetime
    value: Decimal

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError(f"an observation's time must be timezone-aware, not {self.at!r}")
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise ValueError(f"an observation's value must be a finite Decimal, not {self.value!r}")


@dataclass(frozen=True)
class Firing:
    """An alert fired: the observation's time and value, and a short sentence without the bot or symbol."""

    at: datetime
    value: Decimal
    text: str


@dataclass(frozen=True)
class AlertState:
    """What an alert remembers between observations. `AlertState()` is for a new alert, or one whose rule was edited."""

    armed: bool | None = None  # None: nothing observed yet
    last_ms: int | None = None  # epoch ms of the latest observation taken
    peak: Decimal | None = None  # drawdown: the highest equity seen
    buckets: tuple[Bucket, ...] = ()  # price_move: the recent window, oldest first

    def to_json(self) -> dict[str, Any]:
        """This state as a JSON-ready dict (Decimals as exact strings)."""
        return {
            "armed": self.armed,
            "last_ms": self.last_ms,
            "peak": None if self.peak is None else str(self.peak),
            "buckets": [[index, str(low), str(high)] for index, low, high in self.buckets],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertState:
        """The state `to_json` gave; `{}` (a fresh database row) is a new alert's. ValueError if malformed."""
        try:
            armed, last_ms, peak = data.get("armed"), data.get("last_ms"), data.get("peak")
            if armed is not None and not isinstance(armed, bool):
                raise ValueError("armed")
            if last_ms is not None and type(last_ms) is not int:  # type(): bool is an int too
                raise ValueError("last_ms")
            rows = data.get("buckets", ())
            buckets = tuple((_int(index), _decimal(low), _decimal(high)) for index, low, high in rows)
            return cls(armed, last_ms, None if peak is None else _decimal(peak), buckets)
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"not an alert state: {dict(data)!r}") from exc


def watches(kind: AlertKind) -> Watched:
    """Which input a rule of this kind is evaluated on."""
    return _WATCHES[AlertKind(kind)]


def rule_problem(rule: AlertRule) -> str | None:
    """What is wrong with `rule`, as a sentence for its author; None if it is valid."""
    try:
        kind = AlertKind(rule.kind)
    except ValueError:
        return f"Unknown alert kind {rule.kind!r}: use one of {', '.join(AlertKind)}."
    level, window, hysteresis = rule.level, rule.window_minutes, rule.hysteresis
    if not isinstance(level, Decimal) or not level.is_finite():
        return "The level must be a number."
    if kind in _CROSSINGS and level <= 0:
        return "The price level must be above 0."
    if kind == AlertKind.DAILY_PNL_BELOW and level <= 0:
        return "Give the daily loss as a positive amount: 100 alerts at a P&L of -100 or less."
    if kind in (AlertKind.PRICE_MOVE, AlertKind.DRAWDOWN) and not 0 < level <= _HUNDRED:
        return "The percentage must be above 0 and at most 100."
    if kind == AlertKind.PRICE_MOVE:
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_WINDOW_MINUTES:
            return f"A price move needs a window of 1 to {MAX_WINDOW_MINUTES} minutes."
    elif window is not None:
        return "Only price move alerts take a window."
    if hysteresis is not None and (
        not isinstance(hysteresis, Decimal) or not hysteresis.is_finite() or not 0 <= hysteresis <= MAX_HYSTERESIS
    ):
        return f"The hysteresis must be a fraction from 0 to {MAX_HYSTERESIS}."
    return None


def evaluate(rule: AlertRule, state: AlertState, obs: Observation) -> tuple[AlertState, Firing | None]:
    """The state after `obs`, and the firing it caused, if any. ValueError if `rule` has a `rule_problem`.

    Each kind fires (when armed) and re-arms (when disarmed) on these conditions, with h = the hysteresis:
    - price_above L: fires at price ≥ L; re-arms at price < L and ≤ L·(1 - h).
    - price_below L: fires at price ≤ L; re-arms at price > L and ≥ L·(1 + h).
    - daily_pnl_below X: fires at P&L ≤ -X; re-arms at P&L > -X and ≥ -X + X·h. It does not look at the date:
      the caller's P&L going back to 0 at the day's start re-arms it like any recovery.
    - drawdown Y: with peak = the highest equity seen since the state was new, fires at (peak - equity)/peak ≥ Y %
      and re-arms at < Y % and ≤ Y·(1 - h) %. It is never met while the peak is ≤ 0.
    - price_move X in N minutes: move = the larger of (price - min)/min and (max - price)/max over the earlier
      prices in the window, i.e. the largest move from any one of them. Fires at move ≥ X %, re-arms at < X %
      and ≤ X·(1 - h) %.
    The price_move window is bounded. Prices go into buckets of N·60 000 // 64 ms, each keeping only its min and
    max, which are all the move needs. A bucket is kept while any of its span lies within the last N minutes, so
    there are at most 66 buckets whatever the tick rate. Precision trade-off: a price can count for up to one
    bucket (N/64 minutes, ~1.6 %) longer than N minutes. It errs towards alerting and never misses a price
    that is inside the window.
    """
    problem = rule_problem(rule)
    if problem:
        raise ValueError(problem)
    at_ms = (obs.at - _EPOCH) // timedelta(milliseconds=1)
    kind, value, level, h = rule.kind, obs.value, rule.level, rule.band_fraction
    if state.last_ms is not None and at_ms < state.last_ms:
        return state, None
    if _WATCHES[kind] == "price" and value <= 0:
        return state, None

    peak, buckets, measure = state.peak, state.buckets, Decimal(0)
    if kind == AlertKind.PRICE_ABOVE:
        hit, clear = value >= level, value < level and value <= level * (1 - h)
    elif kind == AlertKind.PRICE_BELOW:
        hit, clear = value <= level, value > level and value >= level * (1 + h)
    elif kind == AlertKind.DAILY_PNL_BELOW:
        hit, clear = value <= -level, value > -level and value >= -level + level * h
    elif kind == AlertKind.DRAWDOWN:
        peak = value if peak is None else max(peak, value)
        measure = (peak - value) * _HUNDRED / peak if peak > 0 else Decimal(0)
        hit = peak > 0 and measure >= level
        clear = peak > 0 and measure < level and measure <= level * (1 - h)
    else:  # PRICE_MOVE; rule_problem made sure of the window
        window_ms = (rule.window_minutes or 0) * 60_000
        width = max(1, window_ms // BUCKETS_PER_WINDOW)
        first = (at_ms - window_ms) // width  # the oldest bucket that still reaches into the window
        start = 0
        while start < len(buckets) and buckets[start][0] < first:  # oldest first: drop from the front only
            start += 1
        kept = buckets[start:]
        measure = _move(kept, value)
        hit, clear = abs(measure) >= level, abs(measure) < level and abs(measure) <= level * (1 - h)
        buckets = _with_price(kept, at_ms // width, value)

    if state.armed is None and kind in _CROSSINGS:
        armed, fires = not hit, False  # the first price only tells the side; holding already counts as fired
    elif state.armed is False:
        armed, fires = clear, False
    else:  # armed, or a threshold alert's first observation
        armed, fires = not hit, hit
    firing = Firing(obs.at, value, _text(rule, value, measure, peak)) if fires else None
    return AlertState(armed, at_ms, peak, buckets), firing


def _move(buckets: tuple[Bucket, ...], price: Decimal) -> Decimal:
    """The largest move of `price` from a price in `buckets`, in signed percent (+ up, - down); 0 if none."""
    if not buckets:
        return Decimal(0)
    low, high = min([bucket[1] for bucket in buckets]), max([bucket[2] for bucket in buckets])
    up, down = (price - low) * _HUNDRED / low, (high - price) * _HUNDRED / high
    return up if up >= down else -down


def _with_price(buckets: tuple[Bucket, ...], index: int, price: Decimal) -> tuple[Bucket, ...]:
    """`buckets` with `price` in bucket `index`, which is the last one or a new one after it (time only moves on)."""
    if buckets and buckets[-1][0] == index:
        _, low, high = buckets[-1]
        return (*buckets[:-1], (index, min(low, price), max(high, price)))
    return (*buckets, (index, price, price))


def _text(rule: AlertRule, value: Decimal, measure: Decimal, peak: Decimal | None) -> str:
    """A short sentence saying why `rule` fired. The caller adds the bot and the symbol."""
    level = rule.level
    if rule.kind == AlertKind.PRICE_ABOVE:
        return f"crossed above {_number(level)} at {_number(value)}"
    if rule.kind == AlertKind.PRICE_BELOW:
        return f"crossed below {_number(level)} at {_number(value)}"
    if rule.kind == AlertKind.DAILY_PNL_BELOW:
        return f"today's P&L is {_number(value)}, at or below -{_number(level)}"
    if rule.kind == AlertKind.DRAWDOWN:
        return f"equity {_number(value)} is {_percent(measure)}% below its peak of {_number(peak or value)}"
    sign = "+" if measure >= 0 else "-"
    return f"moved {sign}{_percent(abs(measure))}% within {rule.window_minutes} min, to {_number(value)}"


def _number(value: Decimal) -> str:
    """`value` with thousands separators and without trailing zeros: 65000.50 → "65,000.5"."""
    text = format(value, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _percent(value: Decimal) -> str:
    """A percentage to 2 places, without trailing zeros: 5.1234 → "5.12"; below 1 %, to 4 places
    (a 0.0042 % move must not read "0 %")."""
    return _number(value.quantize(Decimal("0.01") if abs(value) >= 1 else Decimal("0.0001")))


def _decimal(raw: object) -> Decimal:
    """A finite Decimal from the exact string `to_json` wrote (never a float, which would not be exact)."""
    if not isinstance(raw, str):
        raise TypeError(f"expected a decimal string, got {raw!r}")
    value = Decimal(raw)
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {raw!r}")
    return value


def _int(raw: object) -> int:
    """An int from JSON, refusing bools and floats."""
    if type(raw) is not int:
        raise TypeError(f"expected an integer, got {raw!r}")
    return raw
