"""BotSettings.from_env: defaults, parsing and one ConfigError per invalid setting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULTS, BotSettings
from bot.errors import BotError, ConfigError
from bot_api.keys import RedisKeys


def test_defaults() -> None:
    s = BotSettings.from_env({})
    assert s.bot_id == "main"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.redis_prefix == "cryptobot"
    assert s.symbols == ("BTCUSDT", "ETHUSDT")
    assert s.quote_asset == "USDT"
    assert s.tick_interval == 0.5
    assert s.sim_seed == 7
    assert s.strategy == "sma_cross"
    assert (s.sma_fast, s.sma_slow, s.strategy_timeframe) == (2, 4, 60)
    assert s.fee_rate == Decimal("0.001")
    assert s.slippage_bps == Decimal(1)
    assert s.candle_interval == 60
    assert s.starting_cash == Decimal("10000")
    assert s.order_quote == Decimal("1000")
    assert s.auto_start is True
    assert s.log_level == "INFO"
    assert isinstance(s.fee_rate, Decimal)
    assert isinstance(s.starting_cash, Decimal)
    assert isinstance(s.order_quote, Decimal)


def test_overrides_are_parsed() -> None:
    s = BotSettings.from_env(
        {
            "BOT_ID": "bot-2",
            "SYMBOLS": " SOLBUSD , BNBBUSD ",
            "QUOTE_ASSET": "BUSD",
            "TICK_INTERVAL": "0.05",
            "SIM_SEED": "-7",
            "SMA_FAST": "1",
            "SMA_SLOW": "500",
            "STRATEGY_TIMEFRAME": "0",
            "FEE_RATE": "0",
            "STARTING_CASH": "250.5",
            "ORDER_QUOTE": "12.25",
            "AUTO_START": "No",
            "LOG_LEVEL": "debug",
        }
    )
    assert s.bot_id == "bot-2"
    assert s.symbols == ("SOLBUSD", "BNBBUSD")
    assert s.tick_interval == 0.05
    assert s.sim_seed == -7
    assert (s.sma_fast, s.sma_slow, s.strategy_timeframe) == (1, 500, 0)
    assert s.fee_rate == Decimal(0)
    assert s.starting_cash == Decimal("250.5")
    assert s.order_quote == Decimal("12.25")
    assert s.auto_start is False
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("NO", False),
    ],
)
def test_auto_start_accepts_boolean_words(raw: str, expected: bool) -> None:
    assert BotSettings.from_env({"AUTO_START": raw}).auto_start is expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_ID", "has space"),
        ("BOT_ID", "x" * 33),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_PREFIX", "a b"),
        ("REDIS_PREFIX", ""),
        ("SYMBOLS", ""),
        ("SYMBOLS", "btcusdt"),
        ("SYMBOLS", "BTCEUR"),
        ("SYMBOLS", "USDT"),
        ("SYMBOLS", "BTCUSDT,BTCUSDT"),
        ("QUOTE_ASSET", "usdt"),
        ("TICK_INTERVAL", "0"),
        ("TICK_INTERVAL", "10.5"),
        ("TICK_INTERVAL", "nan"),
        ("TICK_INTERVAL", "fast"),
        ("SIM_SEED", "4.2"),
        ("STRATEGY", "martingale"),
        ("SMA_FAST", "0"),
        ("SMA_FAST", "x"),
        ("SMA_FAST", "20"),
        ("SMA_SLOW", "501"),
        ("STRATEGY_TIMEFRAME", "-1"),
        ("STRATEGY_TIMEFRAME", "86401"),
        ("STRATEGY_TIMEFRAME", "1.5"),
        ("FEE_RATE", "-1"),
        ("FEE_RATE", "0.1"),
        ("FEE_RATE", "NaN"),
        ("FEE_RATE", "abc"),
        ("STARTING_CASH", "0"),
        ("STARTING_CASH", "-5"),
        ("STARTING_CASH", "Infinity"),
        ("STARTING_CASH", "1e13"),
        ("ORDER_QUOTE", "0"),
        ("ORDER_QUOTE", "ten"),
        ("AUTO_START", "maybe"),
        ("LOG_LEVEL", "LOUD"),
        ("MARKET_DATA", "kraken"),
        ("BROKER", "ftx"),
        ("LIVE_TRADING", "sure"),
        ("BINANCE_TESTNET", "perhaps"),
        ("BINANCE_REST_URL", "ftp://example.com"),
        ("BINANCE_REST_URL", "http://"),
        ("BINANCE_STREAM_URL", "https://stream.example.com"),
        ("BINANCE_WS_API_URL", "http://ws-api.example.com"),
        ("STALL_TIMEOUT", "0"),
        ("REST_POLL_INTERVAL", "0.01"),
        ("BREAKER_FAIL_MAX", "0"),
        ("BREAKER_RESET_TIMEOUT", "-1"),
        ("MR_WINDOW", "1"),
        ("MR_ENTRY_Z", "0"),
        ("MR_EXIT_Z", "-3"),
        ("SLIPPAGE_BPS", "-1"),
        ("SLIPPAGE_BPS", "1000"),
        ("MAX_POSITION_QUOTE", "0"),
        ("MAX_DAILY_LOSS", "-10"),
    ],
)
def test_invalid_setting_raises_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({name: value})
    assert caught.value.setting == name
    assert caught.value.message.startswith(f"{name}: ")
    assert str(caught.value) == caught.value.message
    assert isinstance(caught.value, BotError)


def test_error_message_shows_rule_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"FEE_RATE": "-1"})
    assert caught.value.message == "FEE_RATE: must be between 0 and 0.1, got '-1'"


@pytest.mark.parametrize(("raw", "message"), [
    ("0", "EQUITY_INTERVAL: must be between 1 and 86400 seconds, got '0'"),
    ("abc", "EQUITY_INTERVAL: must be a number, got 'abc'"),
    ("inf", "EQUITY_INTERVAL: must be a finite number, got 'inf'"),
])
def test_equity_interval_errors_say_the_rule_once(raw: str, message: str) -> None:
    """It said "got '0', got '0'", and Python's own "could not convert string to float" for a word."""
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"EQUITY_INTERVAL": raw})
    assert caught.value.message == message


def test_invalid_redis_url_error_does_not_echo_the_url() -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"REDIS_URL": "http://user:hunter2@host"})
    assert caught.value.setting == "REDIS_URL"
    assert "hunter2" not in caught.value.message


def test_every_setting_has_a_default() -> None:
    assert set(DEFAULTS) == {
        "BOT_ID", "REDIS_URL", "REDIS_PREFIX", "SYMBOLS", "QUOTE_ASSET", "TICK_INTERVAL", "SIM_SEED",
        "STRATEGY", "SMA_FAST", "SMA_SLOW", "FEE_RATE", "STARTING_CASH", "ORDER_QUOTE", "AUTO_START",
        "LOG_LEVEL", "VAR_DIR", "EQUITY_INTERVAL", "MARKET_DATA", "BROKER", "LIVE_TRADING",
        "BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_TESTNET", "BINANCE_REST_URL", "BINANCE_STREAM_URL",
        "BINANCE_WS_API_URL",
        "STALL_TIMEOUT", "REST_POLL_INTERVAL", "BREAKER_FAIL_MAX", "BREAKER_RESET_TIMEOUT", "MR_WINDOW",
        "MR_ENTRY_Z", "MR_EXIT_Z", "SLIPPAGE_BPS", "MAX_POSITION_QUOTE", "MAX_DAILY_LOSS", "CANDLE_INTERVAL",
        "STRATEGY_TIMEFRAME",
    }  # fmt: skip


KEYS = {"BINANCE_API_KEY": "key-12345678", "BINANCE_API_SECRET": "secret-87654321"}


def test_the_default_never_places_a_real_order() -> None:
    s = BotSettings.from_env({})
    assert (s.market_data, s.broker, s.live_trading, s.binance_testnet) == ("sim", "paper", False, True)
    assert not s.places_real_orders
    # Paper trading on Binance prices needs no keys.
    assert BotSettings.from_env({"MARKET_DATA": "binance"}).binance_rest_url == "https://testnet.binance.vision/api"
    live_prices = BotSettings.from_env({"MARKET_DATA": "binance", "BINANCE_TESTNET": "false"})
    assert (live_prices.binance_rest_url, live_prices.binance_stream_url) == (
        "https://api.binance.com/api", "wss://stream.binance.com:9443/")
    assert not live_prices.places_real_orders


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"BROKER": "binance"}, "MARKET_DATA"),  # orders on simulated prices
        ({"BROKER": "binance", "MARKET_DATA": "binance"}, "BINANCE_API_KEY"),
        ({"BROKER": "binance", "MARKET_DATA": "binance", "BINANCE_API_KEY": "key-12345678"}, "BINANCE_API_SECRET"),
        ({"BROKER": "binance", "MARKET_DATA": "binance", "BINANCE_TESTNET": "false", **KEYS}, "LIVE_TRADING"),
    ],
)
def test_exchange_settings_that_cannot_work_are_refused_at_start(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env(env)
    assert caught.value.setting == setting


def test_live_trading_needs_every_switch_and_keys_never_leak() -> None:
    testnet = BotSettings.from_env({"BROKER": "binance", "MARKET_DATA": "binance", **KEYS})
    assert not testnet.places_real_orders  # testnet orders spend no money
    live = BotSettings.from_env(
        {"BROKER": "binance", "MARKET_DATA": "binance", "BINANCE_TESTNET": "false", "LIVE_TRADING": "true", **KEYS}
    )
    assert live.places_real_orders
    for text in (repr(live), live.summary()):
        assert "key-12345678" not in text and "secret-87654321" not in text
    assert "binance=LIVE" in live.summary()
    # A REST address that is not the testnet (nor this machine) may be the live exchange.
    proxied = {"BROKER": "binance", "MARKET_DATA": "binance", "BINANCE_REST_URL": "https://proxy.example/api", **KEYS}
    with pytest.raises(ConfigError) as refused:
        BotSettings.from_env(proxied)
    assert refused.value.setting == "LIVE_TRADING"
    assert BotSettings.from_env({**proxied, "LIVE_TRADING": "true"}).places_real_orders
    local = BotSettings.from_env({**proxied, "BINANCE_REST_URL": "http://127.0.0.1:9/api"})
    assert not local.places_real_orders  # a local fake
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"BINANCE_API_SECRET": "has a space in it"})
    assert "has a space" not in caught.value.message


def test_keys_use_prefix_and_bot_id() -> None:
    s = BotSettings.from_env({"REDIS_PREFIX": "pfx", "BOT_ID": "b1"})
    assert s.keys == RedisKeys(prefix="pfx", bot_id="b1")
    assert s.keys.events_channel == "pfx:bot:b1:events"


def test_password_never_appears_in_repr_or_summary() -> None:
    s = BotSettings.from_env({"REDIS_URL": "redis://user:s3cret@redis.example:6380/1"})
    assert s.redis_url == "redis://user:s3cret@redis.example:6380/1"
    for text in (repr(s), s.summary(), s.masked_redis_url):
        assert "s3cret" not in text
    assert s.masked_redis_url == "redis://user:***@redis.example:6380/1"
    assert "redis://user:***@redis.example:6380/1" in s.summary()


def test_settings_are_frozen() -> None:
    s = BotSettings.from_env({})
    with pytest.raises(AttributeError):
        s.bot_id = "other"  # type: ignore[misc]


def test_docker_compose_passes_every_bot_setting_with_the_same_default() -> None:
    # `docker compose up` and `make run` must read the same settings (README): none may be lost.
    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    env = compose["services"]["bot"]["environment"]
    fixed = {"REDIS_URL", "REDIS_PREFIX", "BOT_ID", "VAR_DIR"}  # set for the containers on purpose
    for name, default in DEFAULTS.items():
        if name not in fixed:
            assert env.get(name) == f"${{{name}:-{default}}}", name


def test_every_bot_setting_is_documented() -> None:
    root = Path(__file__).parents[2]
    docs = (root / "docs" / "trading.md").read_text() + (root / "README.md").read_text()
    assert [name for name in DEFAULTS if f"`{name}`" not in docs] == []
