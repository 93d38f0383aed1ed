"""Bot settings read once from the environment and validated up front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from bot import config_parse as p
from bot.errors import ConfigError
from bot_api.keys import RedisKeys
from bot_api.redis_conn import mask_url

DEFAULTS: dict[str, str] = {
    "BOT_ID": "main",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "REDIS_PREFIX": "cryptobot",
    "SYMBOLS": "BTCUSDT,ETHUSDT",
    "QUOTE_ASSET": "USDT",
    "TICK_INTERVAL": "0.5",
    "SIM_SEED": "7",
    "MARKET_DATA": "sim",
    "BROKER": "paper",
    "LIVE_TRADING": "false",
    "BINANCE_API_KEY": "",
    "BINANCE_API_SECRET": "",
    "BINANCE_TESTNET": "true",
    "BINANCE_REST_URL": "",
    "BINANCE_STREAM_URL": "",
    "BINANCE_WS_API_URL": "",
    "STALL_TIMEOUT": "10",
    "REST_POLL_INTERVAL": "1",
    "BREAKER_FAIL_MAX": "5",
    "BREAKER_RESET_TIMEOUT": "60",
    "STRATEGY": "sma_cross",
    "STRATEGY_TIMEFRAME": "60",
    "SMA_FAST": "2",
    "SMA_SLOW": "4",
    "MR_WINDOW": "20",
    "MR_ENTRY_Z": "2",
    "MR_EXIT_Z": "0",
    "FEE_RATE": "0.001",
    "SLIPPAGE_BPS": "1",
    "STARTING_CASH": "10000",
    "ORDER_QUOTE": "1000",
    "MAX_POSITION_QUOTE": "",
    "MAX_DAILY_LOSS": "",
    "AUTO_START": "true",
    "LOG_LEVEL": "INFO",
    "VAR_DIR": "var",
    "EQUITY_INTERVAL": "10",
    "CANDLE_INTERVAL": "60",
}
"""Every setting the bot reads, with its default (empty: not set)."""

REST_URLS = {True: "https://testnet.binance.vision/api", False: "https://api.binance.com/api"}
"""Binance spot REST bases by BINANCE_TESTNET (python-binance appends /v3/...)."""
STREAM_URLS = {True: "wss://stream.testnet.binance.vision/", False: "wss://stream.binance.com:9443/"}
"""Binance market stream bases by BINANCE_TESTNET."""
WS_API_URLS = {True: "wss://ws-api.testnet.binance.vision/ws-api/v3", False: "wss://ws-api.binance.com:443/ws-api/v3"}
"""Binance WebSocket API (user data stream) by BINANCE_TESTNET."""


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
    market_data: str = "sim"
    broker: str = "paper"
    live_trading: bool = False
    binance_api_key: str = field(default="", repr=False)
    binance_api_secret: str = field(default="", repr=False)
    binance_testnet: bool = True
    binance_rest_url: str = REST_URLS[True]
    binance_stream_url: str = STREAM_URLS[True]
    binance_ws_api_url: str = WS_API_URLS[True]
    stall_timeout: float = 10.0
    rest_poll_interval: float = 1.0
    breaker_fail_max: int = 5
    breaker_reset_timeout: float = 60.0
    mr_window: int = 20
    mr_entry_z: Decimal = Decimal(2)
    mr_exit_z: Decimal = Decimal(0)
    # 1 bp: Binance's BTCUSDT book is a cent wide, but the price moves while a market order travels.
    slippage_bps: Decimal = Decimal(1)
    max_position_quote: Decimal | None = None
    max_daily_loss: Decimal | None = None
    candle_interval: int = 60
    strategy_timeframe: int = 60
    """Seconds per bar the strategy decides on (its closes); 0: every price."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BotSettings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        env = p.Env(environ, DEFAULTS)
        quote_asset = env.get("QUOTE_ASSET", p.parse_asset)
        sma_fast = env.get("SMA_FAST", p.int_range(1, 499))
        sma_slow = env.get("SMA_SLOW", p.int_range(2, 500))
        if sma_fast >= sma_slow:
            raise ConfigError("SMA_FAST", f"must be smaller than SMA_SLOW ({sma_slow}), got {sma_fast!r}")
        testnet = env.get("BINANCE_TESTNET", p.parse_bool)
        mr_entry_z = env.get("MR_ENTRY_Z", p.decimal_range(Decimal("0.1"), Decimal(10)))
        mr_exit_z = env.get("MR_EXIT_Z", p.decimal_range(Decimal(-10), Decimal(10)))
        if mr_exit_z <= -mr_entry_z:
            raise ConfigError("MR_EXIT_Z", f"must be above -MR_ENTRY_Z ({-mr_entry_z}), got {mr_exit_z}")
        settings = cls(
            bot_id=env.get("BOT_ID", p.parse_bot_id),
            redis_url=env.get("REDIS_URL", p.parse_redis_url),
            redis_prefix=env.get("REDIS_PREFIX", p.parse_prefix),
            symbols=env.get("SYMBOLS", lambda raw: p.parse_symbols(raw, quote_asset)),
            quote_asset=quote_asset,
            tick_interval=env.get("TICK_INTERVAL", p.parse_interval),
            sim_seed=env.get("SIM_SEED", p.parse_int),
            strategy=env.get("STRATEGY", p.parse_strategy),
            sma_fast=sma_fast,
            sma_slow=sma_slow,
            fee_rate=env.get("FEE_RATE", p.parse_fee_rate),
            starting_cash=env.get("STARTING_CASH", p.positive_decimal),
            order_quote=env.get("ORDER_QUOTE", p.positive_decimal),
            auto_start=env.get("AUTO_START", p.parse_bool),
            log_level=env.get("LOG_LEVEL", p.parse_log_level),
            var_dir=env.get("VAR_DIR", p.parse_dir),
            equity_interval=env.get("EQUITY_INTERVAL", p.parse_equity_interval),
            market_data=env.get("MARKET_DATA", p.one_of("sim", "binance")),
            broker=env.get("BROKER", p.one_of("paper", "binance")),
            live_trading=env.get("LIVE_TRADING", p.parse_bool),
            binance_api_key=env.get("BINANCE_API_KEY", p.parse_secret, secret=True),
            binance_api_secret=env.get("BINANCE_API_SECRET", p.parse_secret, secret=True),
            binance_testnet=testnet,
            binance_rest_url=env.get("BINANCE_REST_URL", p.url_or(REST_URLS[testnet], ("http", "https"))),
            binance_stream_url=env.get("BINANCE_STREAM_URL", p.url_or(STREAM_URLS[testnet], ("ws", "wss"))),
            binance_ws_api_url=env.get("BINANCE_WS_API_URL", p.url_or(WS_API_URLS[testnet], ("ws", "wss"))),
            stall_timeout=env.get("STALL_TIMEOUT", p.float_range(1, 300)),
            rest_poll_interval=env.get("REST_POLL_INTERVAL", p.float_range(0.2, 60)),
            breaker_fail_max=env.get("BREAKER_FAIL_MAX", p.int_range(1, 100)),
            breaker_reset_timeout=env.get("BREAKER_RESET_TIMEOUT", p.float_range(0.1, 3600)),
            mr_window=env.get("MR_WINDOW", p.int_range(2, 500)),
            mr_entry_z=mr_entry_z,
            mr_exit_z=mr_exit_z,
            slippage_bps=env.get("SLIPPAGE_BPS", p.decimal_range(Decimal(0), Decimal(500))),
            max_position_quote=env.get("MAX_POSITION_QUOTE", p.optional(p.positive_decimal)),
            max_daily_loss=env.get("MAX_DAILY_LOSS", p.optional(p.positive_decimal)),
            candle_interval=env.get("CANDLE_INTERVAL", p.int_range(1, 3600)),
            strategy_timeframe=env.get("STRATEGY_TIMEFRAME", p.int_range(0, 86_400)),
        )
        settings._check_exchange()
        return settings

    def _check_exchange(self) -> None:
        """Combinations that cannot work, or that could place real orders by accident."""
        if self.broker != "binance":
            return
        if self.market_data != "binance":
            raise ConfigError("MARKET_DATA", "must be binance when BROKER=binance (orders need the exchange's prices)")
        for name, value in (("BINANCE_API_KEY", self.binance_api_key), ("BINANCE_API_SECRET", self.binance_api_secret)):
            if not value:
                raise ConfigError(name, "is required when BROKER=binance")
        if self.places_real_orders and not self.live_trading:
            raise ConfigError(
                "LIVE_TRADING",
                "must be true to place orders that may spend real money (BROKER=binance with "
                "BINANCE_TESTNET=false, or BINANCE_REST_URL pointing elsewhere than the testnet); "
                "use BINANCE_TESTNET=true or BROKER=paper to trade without real money",
            )

    @property
    def places_real_orders(self) -> bool:
        """Whether this configuration's orders may spend real money: Binance live, or an overridden
        REST address that is neither the testnet nor this machine (it could lead to the live one)."""
        if self.broker != "binance":
            return False
        if not self.binance_testnet:
            return True
        host = urlsplit(self.binance_rest_url).hostname or ""
        return self.binance_rest_url != REST_URLS[True] and host not in ("127.0.0.1", "localhost", "::1")

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
        """One log-safe line describing the configuration (no keys, no passwords)."""
        venue = "" if self.market_data == "sim" else f" binance={'testnet' if self.binance_testnet else 'LIVE'}"
        return (
            f"bot={self.bot_id} market={self.market_data} broker={self.broker}{venue}"
            f" symbols={','.join(self.symbols)} strategy={self.strategy}/{self.strategy_timeframe or 'tick'}s"
            f" tick={self.tick_interval}s fee_rate={self.fee_rate} slippage={self.slippage_bps}bps"
            f" cash={self.starting_cash} {self.quote_asset} order={self.order_quote} {self.quote_asset}"
            f" max_position={self.max_position_quote or '-'} max_daily_loss={self.max_daily_loss or '-'}"
            f" auto_start={self.auto_start} redis={self.masked_redis_url} prefix={self.redis_prefix}"
        )
