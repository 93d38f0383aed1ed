"""BotSettings.from_env: defaults, parsing, empty = default, and one ConfigError line per invalid setting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import BotSettings
from bot.errors import BotError, ConfigError
from bot.strategy.sma_cross import SmaCrossParams
from bot_api.keys import RedisKeys
from bot_api.settings import DEFAULT_REDIS_URL


def test_defaults() -> None:
    s = BotSettings.from_env({})
    assert s.bot_id == "main"
    assert s.redis_url == DEFAULT_REDIS_URL == "redis://127.0.0.1:6379/0"
    assert s.redis_prefix == "cryptobot"
    assert s.symbols == ("BTCUSDT", "ETHUSDT")
    assert s.quote_asset == "USDT"
    assert s.tick_interval == 0.5
    assert s.sim_seed == 7
    assert s.strategy == "sma_cross"
    assert (s.strategy_params, s.strategy_timeframe) == (SmaCrossParams(SMA_FAST=2, SMA_SLOW=4), 60)
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
    assert (s.strategy_params, s.strategy_timeframe) == (SmaCrossParams(SMA_FAST=1, SMA_SLOW=500), 0)
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
        ("On", True),
        ("off", False),
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
        ("REDIS_PREFIX", " "),
        ("SYMBOLS", " , "),
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
        ("STRATEGY", "no_such.module"),
        ("SMA_FAST", "0"),
        ("SMA_FAST", "20"),
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
        ("EQUITY_INTERVAL", "86401"),
        ("CANDLE_INTERVAL", "0"),
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
    assert caught.value.message == "FEE_RATE: must be a number at least 0 and below 0.1, got '-1'"


@pytest.mark.parametrize("raw", ["0", "abc", "inf", " 86401 "])
def test_equity_interval_errors_say_the_rule_once(raw: str) -> None:
    """The rule is said once, whatever is wrong (a word, a bound, infinity): never "got '0', got '0'"."""
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"EQUITY_INTERVAL": raw})
    assert caught.value.message == f"EQUITY_INTERVAL: must be a number of seconds from 1 to 86400, got {raw!r}"


@pytest.mark.parametrize(("env", "message"), [
    ({"SYMBOLS": "BTCEUR"}, "SYMBOLS: symbol 'BTCEUR' must be quoted in QUOTE_ASSET USDT"),
    ({"SYMBOLS": "btcusdt"}, "SYMBOLS: symbol 'btcusdt' must be 2-20 capital letters or digits, got 'btcusdt'"),
    ({"MARKET_DATA": "kraken"}, "MARKET_DATA: must be one of: sim, binance, got 'kraken'"),
    ({"AUTO_START": "maybe"}, "AUTO_START: must be true or false (or yes/no, on/off, 1/0), got 'maybe'"),
    ({"SIM_SEED": "4.2"}, "SIM_SEED: must be a whole number, got '4.2'"),
    ({"STARTING_CASH": "0"}, "STARTING_CASH: must be a number greater than 0 and at most 1000000000000, got '0'"),
    ({"MAX_DAILY_LOSS": "-10"}, "MAX_DAILY_LOSS: must be a number greater than 0 and at most 1000000000000, "
                                "got '-10'"),
    ({"STRATEGY": "martingale"}, "STRATEGY: must be one of: sma_cross, mean_reversion (or package.module of a "
                                 "strategy plug-in), got 'martingale'"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: must be one of: DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'"),
])
def test_messages_name_the_setting_and_its_rule(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env(env)
    assert caught.value.message == message


def test_var_dir_must_not_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"VAR_DIR": str(tmp_path / "a-file")})
    assert caught.value.message == f"VAR_DIR: exists and is not a directory, got {str(tmp_path / 'a-file')!r}"


def test_an_empty_value_means_the_default() -> None:
    """docker compose passes every setting as `${NAME:-}`: empty must not be an error, nor a value."""
    defaults = BotSettings.from_env({})
    everything_empty = {env: "" for env, _ in BotSettings.env_fields()} | {"SMA_FAST": "", "SMA_SLOW": ""}
    assert BotSettings.from_env(everything_empty) == defaults
    assert BotSettings.from_env(everything_empty).strategy_params == defaults.strategy_params


def test_invalid_redis_url_error_does_not_echo_the_url() -> None:
    with pytest.raises(ConfigError) as caught:
        BotSettings.from_env({"REDIS_URL": "http://user:hunter2@host"})
    assert caught.value.setting == "REDIS_URL"
    assert "hunter2" not in caught.value.message


def test_every_setting_is_described() -> None:
    for env, field in BotSettings.env_fields():
        assert env.isupper() and field.description, env


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
    with pytest.raises(ValidationError, match="frozen"):
        s.bot_id = "other"  # type: ignore[misc]
