"""Parsers of the bot's settings: each turns one raw environment value into a checked value.

A parser raises ValueError with what is wrong; `Env.get` turns that into a ConfigError naming
the setting, so a bad value stops the bot at start-up with one clear line, not a traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.strategy import STRATEGIES
from bot_api.errors import ContractError
from bot_api.keys import RedisKeys, validate_bot_id

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
_ASSET_RE = re.compile(r"^[A-Z0-9]{2,10}$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
MAX_AMOUNT = Decimal(10) ** 12
"""Upper bound on money settings: larger values would exceed Decimal's 28-digit precision in P&L math."""

T = TypeVar("T")
N = TypeVar("N", int, float, Decimal)


class Env:
    """Looks settings up with defaults and turns parser ValueErrors into ConfigErrors."""

    def __init__(self, environ: Mapping[str, str], defaults: Mapping[str, str]) -> None:
        self._environ = environ
        self._defaults = defaults

    def get(self, name: str, parse: Callable[[str], T], *, secret: bool = False) -> T:
        """The parsed value of `name` (its default when unset); a secret is never quoted back."""
        raw = self._environ.get(name, self._defaults[name])
        try:
            return parse(raw.strip())
        except ValueError as exc:
            raise ConfigError(name, str(exc) if secret else f"{exc}, got {raw!r}") from None


def parse_int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be an integer") from None


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An integer between `low` and `high` inclusive."""
    return _between(parse_int, low, high)


def _between(parse: Callable[[str], N], low: N, high: N) -> Callable[[str], N]:
    """`parse`, then a check that the value lies between `low` and `high` inclusive."""
    def parse_between(raw: str) -> N:
        value = parse(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse_between


def parse_decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not value.is_finite():
        raise ValueError("must be a finite decimal number")
    return value


def positive_decimal(raw: str) -> Decimal:
    value = parse_decimal(raw)
    if not 0 < value <= MAX_AMOUNT:
        raise ValueError(f"must be greater than 0 and at most {MAX_AMOUNT:f}")
    return value


def parse_fee_rate(raw: str) -> Decimal:
    value = parse_decimal(raw)
    if not Decimal(0) <= value < Decimal("0.1"):
        raise ValueError("must be between 0 and 0.1")
    return value


def parse_interval(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= 10):
        raise ValueError("must be greater than 0 and at most 10 seconds")
    return value


def parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be one of true/false/1/0/yes/no")


def parse_bot_id(raw: str) -> str:
    try:
        return validate_bot_id(raw)
    except ContractError as exc:
        raise ValueError(exc.message) from None


def parse_prefix(raw: str) -> str:
    try:
        RedisKeys(prefix=raw)
    except ContractError:
        raise ValueError("must be non-empty and contain no spaces") from None
    return raw


def parse_redis_url(raw: str) -> str:
    try:
        scheme = urlsplit(raw).scheme
    except ValueError:
        scheme = ""
    if scheme not in _REDIS_SCHEMES:
        # The value may hold a password, so the error shows only the scheme, not the URL.
        raise ConfigError("REDIS_URL", f"must start with redis://, rediss:// or unix://, got {scheme!r}")
    return raw


def parse_asset(raw: str) -> str:
    if not _ASSET_RE.match(raw):
        raise ValueError(f"must match {_ASSET_RE.pattern}")
    return raw


def parse_symbols(raw: str, quote_asset: str) -> tuple[str, ...]:
    symbols = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not symbols:
        raise ValueError("must list at least one symbol")
    for symbol in symbols:
        if not _SYMBOL_RE.match(symbol):
            raise ValueError(f"symbol {symbol!r} must match {_SYMBOL_RE.pattern}")
        if not symbol.endswith(quote_asset) or symbol == quote_asset:
            raise ValueError(f"symbol {symbol!r} must be quoted in QUOTE_ASSET {quote_asset}")
    if len(set(symbols)) != len(symbols):
        raise ValueError("must not repeat a symbol")
    return symbols


def parse_strategy(raw: str) -> str:
    if raw not in STRATEGIES:
        raise ValueError(f"must be one of: {', '.join(sorted(STRATEGIES))}")
    return raw


def parse_equity_interval(raw: str) -> float:
    """Seconds between equity points: 1 to 86400 (the caller quotes the raw value back)."""
    value = parse_float(raw)
    if not 1 <= value <= 86_400:
        raise ValueError("must be between 1 and 86400 seconds")
    return value


def parse_dir(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("must be a directory path")
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{raw!r} exists and is not a directory")
    return path


def parse_log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"must be one of: {', '.join(_LOG_LEVELS)}")
    return level


def decimal_range(low: Decimal, high: Decimal) -> Callable[[str], Decimal]:
    """A decimal between `low` and `high` inclusive."""
    return _between(parse_decimal, low, high)


def parse_float(raw: str) -> float:
    """A finite number."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def float_range(low: float, high: float) -> Callable[[str], float]:
    """A number (of seconds, usually) between `low` and `high` inclusive."""
    return _between(parse_float, low, high)


def one_of(*choices: str) -> Callable[[str], str]:
    """One of the given words (case-insensitive)."""
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return parse


def optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    """`parse`, or None for an empty value (the setting is off)."""
    def parse_optional(raw: str) -> T | None:
        return None if raw == "" else parse(raw)

    return parse_optional


def parse_secret(raw: str) -> str:
    """An API key or secret: printable, no spaces (read with `secret=True`: never echoed)."""
    if raw and not re.fullmatch(r"[\x21-\x7e]{8,256}", raw):
        raise ValueError("must be 8-256 printable characters without spaces")
    return raw


def url_or(default: str, schemes: tuple[str, ...]) -> Callable[[str], str]:
    """A URL with one of `schemes`, or `default` when empty."""
    def parse(raw: str) -> str:
        if raw == "":
            return default
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"must be a {'/'.join(schemes)} URL")
        return raw

    return parse
