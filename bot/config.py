"""Bot settings read once from the environment and validated up front."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.strategy import STRATEGIES
from bot_api.errors import ContractError
from bot_api.keys import RedisKeys, validate_bot_id
from bot_api.redis_conn import mask_url

logger = logging.getLogger(__name__)

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
_ASSET_RE = re.compile(r"^[A-Z0-9]{2,10}$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
MAX_AMOUNT = Decimal(10) ** 12
"""Upper bound on money settings: larger values would exceed Decimal's 28-digit precision in P&L math."""

DEFAULTS: dict[str, str] = {
    "BOT_ID": "main",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "REDIS_PREFIX": "cryptobot",
    "SYMBOLS": "BTCUSDT,ETHUSDT",
    "QUOTE_ASSET": "USDT",
    "TICK_INTERVAL": "0.5",
    "SIM_SEED": "42",
    "STRATEGY": "sma_cross",
    "SMA_FAST": "5",
    "SMA_SLOW": "20",
    "FEE_RATE": "0.001",
    "STARTING_CASH": "10000",
    "ORDER_QUOTE": "1000",
    "AUTO_START": "true",
    "LOG_LEVEL": "INFO",
    "VAR_DIR": "var",
    "EQUITY_INTERVAL": "10",
}
"""Every setting the bot reads, with its default."""

T = TypeVar("T")


@dataclass(frozen=True)
class BotSettings:
    """Validated bot configuration; build it with `BotSettings.from_env`."""

    bot_id: str
    # repr=False: the URL may carry a password and settings objects end up in logs and tracebacks.
    redis_url: str = field(repr=False)
    redis_prefix: str
    symbols: tuple[str, ...]
    quote_asset: str
    tick_interval: float
    sim_seed: int
    strategy: str
    sma_fast: int
    sma_slow: int
    fee_rate: Decimal
    starting_cash: Decimal
    order_quote: Decimal
    auto_start: bool
    log_level: str
    var_dir: Path
    equity_interval: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BotSettings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        env = _Env(environ)
        quote_asset = env.get("QUOTE_ASSET", _parse_asset)
        sma_fast = env.get("SMA_FAST", _int_range(1, 499))
        sma_slow = env.get("SMA_SLOW", _int_range(2, 500))
        if sma_fast >= sma_slow:
            raise ConfigError("SMA_FAST", f"must be smaller than SMA_SLOW ({sma_slow}), got {sma_fast!r}")
        settings = cls(
            bot_id=env.get("BOT_ID", _parse_bot_id),
            redis_url=env.get("REDIS_URL", _parse_redis_url),
            redis_prefix=env.get("REDIS_PREFIX", _parse_prefix),
            symbols=env.get("SYMBOLS", lambda raw: _parse_symbols(raw, quote_asset)),
            quote_asset=quote_asset,
            tick_interval=env.get("TICK_INTERVAL", _parse_interval),
            sim_seed=env.get("SIM_SEED", _parse_int),
            strategy=env.get("STRATEGY", _parse_strategy),
            sma_fast=sma_fast,
            sma_slow=sma_slow,
            fee_rate=env.get("FEE_RATE", _parse_fee_rate),
            starting_cash=env.get("STARTING_CASH", _positive_decimal),
            order_quote=env.get("ORDER_QUOTE", _positive_decimal),
            auto_start=env.get("AUTO_START", _parse_bool),
            log_level=env.get("LOG_LEVEL", _parse_log_level),
            var_dir=env.get("VAR_DIR", _parse_dir),
            equity_interval=env.get("EQUITY_INTERVAL", _parse_equity_interval),
        )
        return settings

    @property
    def journal_path(self) -> Path:
        """The bot's SQLite journal: ledger, seq, state and outbox."""
        return self.var_dir / f"bot-{self.bot_id}.sqlite3"

    @property
    def keys(self) -> RedisKeys:
        """Redis names of this bot."""
        return RedisKeys(prefix=self.redis_prefix, bot_id=self.bot_id)

    @property
    def masked_redis_url(self) -> str:
        """REDIS_URL with any password replaced by ***, safe for logs."""
        return mask_url(self.redis_url)

    def summary(self) -> str:
        """One log-safe line describing the configuration."""
        return (
            f"bot={self.bot_id} symbols={','.join(self.symbols)} strategy={self.strategy}"
            f"({self.sma_fast}/{self.sma_slow}) tick={self.tick_interval}s seed={self.sim_seed}"
            f" fee_rate={self.fee_rate} cash={self.starting_cash} {self.quote_asset}"
            f" order={self.order_quote} {self.quote_asset} auto_start={self.auto_start}"
            f" redis={self.masked_redis_url} prefix={self.redis_prefix}"
        )


class _Env:
    """Looks settings up with defaults and turns parser ValueErrors into ConfigErrors."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str, parse: Callable[[str], T]) -> T:
        raw = self._environ.get(name, DEFAULTS[name])
        try:
            return parse(raw.strip())
        except ValueError as exc:
            raise ConfigError(name, f"{exc}, got {raw!r}") from None


def _parse_int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be an integer") from None


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = _parse_int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _parse_decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not value.is_finite():
        raise ValueError("must be a finite decimal number")
    return value


def _positive_decimal(raw: str) -> Decimal:
    value = _parse_decimal(raw)
    if not 0 < value <= MAX_AMOUNT:
        raise ValueError(f"must be greater than 0 and at most {MAX_AMOUNT:f}")
    return value


def _parse_fee_rate(raw: str) -> Decimal:
    value = _parse_decimal(raw)
    if not Decimal(0) <= value < Decimal("0.1"):
        raise ValueError("must be between 0 and 0.1")
    return value


def _parse_interval(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= 10):
        raise ValueError("must be greater than 0 and at most 10 seconds")
    return value


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be one of true/false/1/0/yes/no")


def _parse_bot_id(raw: str) -> str:
    try:
        return validate_bot_id(raw)
    except ContractError as exc:
        raise ValueError(exc.message) from None


def _parse_prefix(raw: str) -> str:
    try:
        RedisKeys(prefix=raw)
    except ContractError:
        raise ValueError("must be non-empty and contain no spaces") from None
    return raw


def _parse_redis_url(raw: str) -> str:
    try:
        scheme = urlsplit(raw).scheme
    except ValueError:
        scheme = ""
    if scheme not in _REDIS_SCHEMES:
        # The value may hold a password, so the error shows only the scheme, not the URL.
        raise ConfigError("REDIS_URL", f"must start with redis://, rediss:// or unix://, got {scheme!r}")
    return raw


def _parse_asset(raw: str) -> str:
    if not _ASSET_RE.match(raw):
        raise ValueError(f"must match {_ASSET_RE.pattern}")
    return raw


def _parse_symbols(raw: str, quote_asset: str) -> tuple[str, ...]:
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


def _parse_strategy(raw: str) -> str:
    if raw not in STRATEGIES:
        raise ValueError(f"must be one of: {', '.join(sorted(STRATEGIES))}")
    return raw


def _parse_equity_interval(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or not 1 <= value <= 86_400:
        raise ValueError(f"must be between 1 and 86400 seconds, got {raw!r}")
    return value


def _parse_dir(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("must be a directory path")
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{raw!r} exists and is not a directory")
    return path


def _parse_log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"must be one of: {', '.join(_LOG_LEVELS)}")
    return level
