"""Bot settings read once from the environment and validated up front (`BotSettings.from_env`).

Every setting is a field below: its env name (alias), default, bounds and, in its docstring, its
meaning; docs/trading.md's table is generated from them (scripts/settings_table.py). The selected
strategy's parameters are its plug-in's own model (bot/strategy), read and checked here too.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from bot.errors import ConfigError
from bot.strategy import StrategyParams, strategy_plugin
from bot_api.settings import (
    LOWERCASE,
    CommaList,
    CommonSettings,
    Seconds,
    Secret,
    SettingError,
    ShownDefault,
    WholeSeconds,
    pattern,
)

MAX_AMOUNT = Decimal(10) ** 12
"""Upper bound on money settings: larger values would exceed Decimal's 28-digit precision in P&L math."""
REST_URLS = {True: "https://testnet.binance.vision/api", False: "https://api.binance.com/api"}
"""Binance spot REST bases by BINANCE_TESTNET (python-binance appends /v3/...)."""
STREAM_URLS = {True: "wss://stream.testnet.binance.vision/", False: "wss://stream.binance.com:9443/"}
"""Binance market stream bases by BINANCE_TESTNET."""
WS_API_URLS = {True: "wss://ws-api.testnet.binance.vision/ws-api/v3", False: "wss://ws-api.binance.com:443/ws-api/v3"}
"""Binance WebSocket API (user data stream) by BINANCE_TESTNET."""
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")


def _check_symbols(symbols: tuple[str, ...]) -> tuple[str, ...]:
    if not symbols:
        raise ValueError("must list at least one symbol")
    for symbol in symbols:
        if not _SYMBOL.fullmatch(symbol):
            raise ValueError(f"symbol {symbol!r} must be 2-20 capital letters or digits")
    if len(set(symbols)) != len(symbols):
        raise ValueError("must not repeat a symbol")
    return symbols


def _check_secret(raw: str) -> str:
    # Never quoted back (Secret): the rule alone.
    if raw and not (8 <= len(raw) <= 256 and all("\x21" <= c <= "\x7e" for c in raw)):
        raise ValueError("must be 8-256 printable characters without spaces")
    return raw


def _check_strategy(raw: str) -> str:
    strategy_plugin(raw)  # its ValueError says what STRATEGY may be
    return raw


def _url(*schemes: str) -> AfterValidator:
    """Field metadata: a URL with one of `schemes` and a host."""
    def check(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"must be a {'/'.join(schemes)} URL")
        return raw

    return AfterValidator(check)


def _by_testnet(urls: Mapping[bool, str]) -> Callable[[dict[str, Any]], str]:
    """A default factory: the address for BINANCE_TESTNET (validated before: it is declared first)."""
    return lambda data: urls[data.get("binance_testnet", True)]


Money = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT)]
"""An amount of the quote asset: above 0, at most MAX_AMOUNT."""
Symbols = Annotated[CommaList, AfterValidator(_check_symbols)]
ApiSecret = Annotated[Secret, AfterValidator(_check_secret)]
BY_TESTNET = ShownDefault("by `BINANCE_TESTNET`")


class BotSettings(CommonSettings):
    """Validated bot configuration; build it with `BotSettings.from_env`."""

    symbols: Symbols = Field(("BTCUSDT", "ETHUSDT"), alias="SYMBOLS")
    """symbols the bot trades, comma-separated (with Binance, checked against the exchange at start)"""
    quote_asset: Annotated[str, pattern(r"[A-Z0-9]{2,10}", "2-10 capital letters or digits")] = Field(
        "USDT", alias="QUOTE_ASSET")
    """the asset symbols are quoted in; every symbol must end with it"""
    market_data: Annotated[Literal["sim", "binance"], LOWERCASE] = Field("sim", alias="MARKET_DATA")
    """`sim` (offline random walk) or `binance` (websocket stream, REST fallback)"""
    broker: Annotated[Literal["paper", "binance"], LOWERCASE] = Field("paper", alias="BROKER")
    """`paper` (simulated fills) or `binance` (orders on Binance; needs `MARKET_DATA=binance` and keys)"""
    live_trading: bool = Field(False, alias="LIVE_TRADING")
    """must be `true`, with `BINANCE_TESTNET=false`, for orders that spend real money"""
    binance_api_key: ApiSecret = Field("", alias="BINANCE_API_KEY", repr=False)
    """needed only for `BROKER=binance`; never logged"""
    binance_api_secret: ApiSecret = Field("", alias="BINANCE_API_SECRET", repr=False)
    """needed only for `BROKER=binance`; never logged"""
    binance_testnet: bool = Field(True, alias="BINANCE_TESTNET")
    """use Binance's spot testnet (`false`: the real exchange)"""
    binance_rest_url: Annotated[str, _url("http", "https"), BY_TESTNET] = Field(
        default_factory=_by_testnet(REST_URLS), alias="BINANCE_REST_URL")
    """override the exchange's REST address (a proxy, a local fake)"""
    binance_stream_url: Annotated[str, _url("ws", "wss"), BY_TESTNET] = Field(
        default_factory=_by_testnet(STREAM_URLS), alias="BINANCE_STREAM_URL")
    """override the exchange's market stream address"""
    binance_ws_api_url: Annotated[str, _url("ws", "wss"), BY_TESTNET] = Field(
        default_factory=_by_testnet(WS_API_URLS), alias="BINANCE_WS_API_URL")
    """override the exchange's WebSocket API address (the user data stream)"""
    tick_interval: Seconds = Field(0.5, gt=0, le=10, allow_inf_nan=False, alias="TICK_INTERVAL")
    """seconds between ticks: simulated ones, or the most often a symbol's Binance price reaches the strategy"""
    sim_seed: int = Field(7, alias="SIM_SEED")
    """seed of the simulated market's random walk"""
    strategy: Annotated[str, AfterValidator(_check_strategy)] = Field("sma_cross", alias="STRATEGY")
    """the strategy: the name of a registered one (each one's parameters are in the table below), or
    `package.module` of a strategy plug-in module outside the project"""
    strategy_timeframe: WholeSeconds = Field(60, ge=0, le=86_400, alias="STRATEGY_TIMEFRAME")
    """seconds per bar the strategy decides on (the closes of its bars); `0`: every price"""
    fee_rate: Decimal = Field(Decimal("0.001"), ge=0, lt=Decimal("0.1"), alias="FEE_RATE")
    """paper broker fee, as a fraction of the traded value (also the fee the engine plans a buy with)"""
    # 1 bp: Binance's BTCUSDT book is a cent wide, but the price moves while a market order travels.
    slippage_bps: Decimal = Field(Decimal(1), ge=0, le=500, alias="SLIPPAGE_BPS")
    """paper fills move this many basis points against the order"""
    starting_cash: Money = Field(Decimal(10_000), alias="STARTING_CASH")
    """the bot's starting quote balance (its own accounting, also on Binance)"""
    order_quote: Money = Field(Decimal(1000), alias="ORDER_QUOTE")
    """quote amount spent per buy"""
    max_position_quote: Money | None = Field(None, alias="MAX_POSITION_QUOTE")
    """largest value one position may reach; buys are reduced or skipped (empty: no limit)"""
    max_daily_loss: Money | None = Field(None, alias="MAX_DAILY_LOSS")
    """loss since the UTC day opened (equity change) at which trading stops, with the reason shown
    (empty: no limit)"""
    stall_timeout: Seconds = Field(10, ge=1, le=300, allow_inf_nan=False, alias="STALL_TIMEOUT")
    """Binance: seconds of stream silence that count as a stall"""
    rest_poll_interval: Seconds = Field(1, ge=0.2, le=60, allow_inf_nan=False, alias="REST_POLL_INTERVAL")
    """Binance: seconds between REST price polls while the stream is down"""
    breaker_fail_max: int = Field(5, ge=1, le=100, alias="BREAKER_FAIL_MAX")
    """exchange circuit breaker: consecutive failures that open it"""
    breaker_reset_timeout: Seconds = Field(60, ge=0.1, le=3600, allow_inf_nan=False, alias="BREAKER_RESET_TIMEOUT")
    """exchange circuit breaker: seconds before a trial call"""
    auto_start: bool = Field(True, alias="AUTO_START")
    """whether a new bot trades as soon as it starts (a bot that was stopped stays stopped across restarts)"""
    equity_interval: Seconds = Field(10, ge=1, le=86_400, allow_inf_nan=False, alias="EQUITY_INTERVAL")
    """seconds between stored points of the equity curve"""
    candle_interval: WholeSeconds = Field(60, ge=1, le=3600, alias="CANDLE_INTERVAL")
    """seconds per base candle of the dashboard's price chart (a day of them is kept; when it divides an
    hour, 30 days of hour candles too). Built from the bot's prices; with Binance seeded from
    `/api/v3/klines` at start (1m: two pages, 1441 candles; 1h: 721)"""

    _strategy_params: StrategyParams | None = PrivateAttr(None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BotSettings:
        """Read and validate every setting and the selected strategy's; ConfigError names the first bad one."""
        try:
            settings = cls.read(environ)
            settings._strategy_params = strategy_plugin(settings.strategy).params.read(environ)
        except SettingError as exc:
            raise ConfigError(exc.setting, exc.problem) from None
        return settings

    @model_validator(mode="after")
    def _check_symbols_quote(self) -> Self:
        for symbol in self.symbols:
            if not symbol.endswith(self.quote_asset) or symbol == self.quote_asset:
                raise SettingError("SYMBOLS", f"symbol {symbol!r} must be quoted in QUOTE_ASSET {self.quote_asset}")
        return self

    @model_validator(mode="after")
    def _check_exchange(self) -> Self:
        """Combinations that cannot work, or that could place real orders by accident."""
        if self.broker != "binance":
            return self
        if self.market_data != "binance":
            raise SettingError("MARKET_DATA", "must be binance when BROKER=binance (orders need the exchange's prices)")
        for name, value in (("BINANCE_API_KEY", self.binance_api_key), ("BINANCE_API_SECRET", self.binance_api_secret)):
            if not value:
                raise SettingError(name, "is required when BROKER=binance")
        if self.places_real_orders and not self.live_trading:
            raise SettingError(
                "LIVE_TRADING",
                "must be true to place orders that may spend real money (BROKER=binance with "
                "BINANCE_TESTNET=false, or BINANCE_REST_URL pointing elsewhere than the testnet); "
                "use BINANCE_TESTNET=true or BROKER=paper to trade without real money",
            )
        return self

    @property
    def strategy_params(self) -> StrategyParams:
        """The selected strategy's validated parameters (read by `from_env`)."""
        if self._strategy_params is None:
            raise RuntimeError("strategy parameters are read by BotSettings.from_env")
        return self._strategy_params

    @property
    def places_real_orders(self) -> bool:
        """Whether this configuration's orders may spend real money: Binance live, or an overridden
        REST address that is neither the testnet nor this machine (it could lead to the live one)."""
        if self.broker != "binance":
            return False
        if not self.binance_testnet:
            return True
        host = urlsplit(self.binance_rest_url).hostname or ""
        return self.binance_rest_url != REST_URLS[True] and host not in _LOCAL_HOSTS

    @property
    def journal_path(self) -> Path:
        """The bot's SQLite journal: ledger, seq, state and outbox."""
        return self.var_dir / f"bot-{self.bot_id}.sqlite3"

    @property
    def masked_redis_url(self) -> str:
        """REDIS_URL with any password replaced by ***, safe for logs."""
        return self.redis.described()

    def summary(self) -> str:
        """One log-safe line describing the configuration (no keys, no passwords)."""
        venue = "" if self.market_data == "sim" else f" binance={'testnet' if self.binance_testnet else 'LIVE'}"
        params = f" ({self._strategy_params.summary()})" if self._strategy_params is not None else ""
        return (
            f"bot={self.bot_id} market={self.market_data} broker={self.broker}{venue}"
            f" symbols={','.join(self.symbols)} strategy={self.strategy}/{self.strategy_timeframe or 'tick'}s{params}"
            f" tick={self.tick_interval}s fee_rate={self.fee_rate} slippage={self.slippage_bps}bps"
            f" cash={self.starting_cash} {self.quote_asset} order={self.order_quote} {self.quote_asset}"
            f" max_position={self.max_position_quote or '-'} max_daily_loss={self.max_daily_loss or '-'}"
            f" auto_start={self.auto_start} redis={self.masked_redis_url} prefix={self.redis_prefix}"
        )


def check(environ: Mapping[str, str]) -> int:
    """`python -m bot --check`: validate every setting and the strategy's, print the result; 0 or 2."""
    try:
        settings = BotSettings.from_env(environ)
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
    print(f"configuration ok: {settings.summary()}")
    return 0
