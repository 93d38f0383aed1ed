"""The contract: every event type has a model, envelopes round-trip, defects raise stable codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot_api.commands import COMMANDS, BotCommand, StopBot, parse_bot_command, parse_browser_frame
from bot_api.errors import ContractError
from bot_api.events import (
    DURABLE_TYPES,
    EVENT_MODELS,
    MAX_EVENT_BYTES,
    STATE_CHANGE_TYPES,
    SUPERSEDED_TYPES,
    PriceData,
    PriceUpdateEvent,
    encode_event,
    error_event,
    parse_event,
)
from bot_api.keys import RedisKeys
from bot_api.models import over_bytes


def test_the_registries_are_derived_from_the_models() -> None:
    assert set(EVENT_MODELS) == {
        "status", "status_change", "price_update", "trade_executed", "bot_control", "equity_snapshot",
        "order_skipped", "bot_presence", "error", "heartbeat", "bot_summary", "bot_list", "alert_fired", "portfolio",
    }
    for kind, model in EVENT_MODELS.items():
        assert model.model_fields["type"].default == kind
    assert {"trade_executed", "equity_snapshot", "bot_control"} == DURABLE_TYPES
    assert {"status", "status_change", "portfolio"} == STATE_CHANGE_TYPES
    assert {"price_update"} == SUPERSEDED_TYPES
    assert not DURABLE_TYPES & SUPERSEDED_TYPES  # a record is never dropped


def test_a_price_is_superseded_by_a_newer_one_of_its_symbol_only() -> None:
    btc = PriceUpdateEvent(seq=1, data=PriceData(symbol="BTCUSDT", price=Decimal(1)))
    assert btc.supersedes_key() == "BTCUSDT"
    assert error_event("x", "y").supersedes_key() is None


def test_envelope_round_trip_keeps_decimals_exact() -> None:
    event = PriceUpdateEvent(seq=7, bot="main", data=PriceData(symbol="BTCUSDT", price=Decimal("65000.10")))
    text = encode_event(event)
    frame = json.loads(text)
    assert set(frame) == {"v", "type", "seq", "ts", "bot", "data"}
    assert frame["v"] == 1 and frame["data"]["price"] == "65000.10"
    assert frame["ts"].endswith("Z")
    assert parse_event(text) == event


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{", "invalid_event"),
        ('{"v":1,"type":"nope","seq":1,"ts":"2026-01-01T00:00:00Z","bot":"main","data":{}}', "invalid_event"),
        ('{"v":2,"type":"error","seq":null,"ts":"2026-01-01T00:00:00Z","bot":"main",'
         '"data":{"code":"x","message":"y"}}', "invalid_event"),
        ('{"v":1,"type":"price_update","seq":1,"ts":"2026-01-01T00:00:00","bot":"main",'
         '"data":{"symbol":"BTCUSDT","price":"1"}}', "invalid_event"),
        ('{"v":1,"type":"price_update","seq":0,"ts":"2026-01-01T00:00:00Z","bot":"main",'
         '"data":{"symbol":"BTCUSDT","price":"1"}}', "invalid_event"),
        ('{"v":1,"type":"price_update","seq":1,"ts":"2026-01-01T00:00:00Z","bot":"main",'
         '"data":{"symbol":"BTCUSDT","price":"NaN"}}', "invalid_event"),
        ("x" * (MAX_EVENT_BYTES + 1), "too_large"),
    ],
)
def test_off_contract_events_are_refused(raw: str, code: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_event(raw)
    assert info.value.code == code


def test_error_frames_have_code_and_message() -> None:
    frame = json.loads(encode_event(error_event("invalid_json", "frame is not valid JSON")))
    assert frame["type"] == "error" and frame["seq"] is None
    assert frame["data"] == {"code": "invalid_json", "message": "frame is not valid JSON"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nope", "invalid_json"),
        ("null", "invalid_frame"),
        ('{"id":"1"}', "unknown_command"),
        ('{"command":"sell_everything","id":"1"}', "unknown_command"),
        ('{"command":"start_bot"}', "invalid_frame"),
        ('{"command":"start_bot","id":""}', "invalid_frame"),
        ('{"command":"start_bot","id":"1","x":1}', "invalid_frame"),
        ('{"command":"start_bot","id":"' + "a" * 5000 + '"}', "frame_too_large"),
        # 1,100 characters but 4,400 bytes: the limit is in bytes, as the wire counts it.
        ('{"command":"start_bot","id":"1","x":"' + "\U0001f600" * 1100 + '"}', "frame_too_large"),
    ],
)
def test_browser_frame_defects(text: str, code: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_browser_frame(text)
    assert info.value.code == code


def test_browser_frames_parse_to_their_command() -> None:
    shapes: dict[str, dict[str, object]] = {
        "resume": {"id": "c-1", "last_seq": 7},
        "ack": {"seq": 7},  # flow control: no id, never answered
        "close_position": {"id": "c-1", "symbol": "BTCUSDT"},
    }
    assert set(COMMANDS) == {"start_bot", "stop_bot", "close_position", "request_status", "resume", "ack"}
    for name, model in COMMANDS.items():
        fields = shapes.get(name, {"id": "c-1"})
        frame = parse_browser_frame(json.dumps({"command": name, **fields}))
        assert frame.command == name and type(frame) is model
        assert getattr(frame, "id", None) == fields.get("id")


@pytest.mark.parametrize("last_seq", [None, -1, "7", 1.5])
def test_resume_needs_a_non_negative_integer_last_seq(last_seq: object) -> None:
    frame: dict[str, object] = {"command": "resume", "id": "r1"}
    if last_seq is not None:
        frame["last_seq"] = last_seq
    with pytest.raises(ContractError) as info:
        parse_browser_frame(json.dumps(frame))
    assert info.value.code == "invalid_frame"


def test_bot_command_expiry_and_round_trip() -> None:
    cmd = BotCommand.create(action=StopBot(id="c1", close_positions=True), bot="main", issued_by="alice")
    assert not cmd.is_expired()
    assert len(cmd.id) == 32 and cmd.id != BotCommand.create(action=cmd.action, bot="main", issued_by="a").id
    assert parse_bot_command(cmd.model_dump_json()) == cmd
    old = cmd.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    assert old.is_expired()
    with pytest.raises(ContractError):
        parse_bot_command(b'{"id":"c1"}')


def test_keys_are_namespaced_per_prefix_and_bot() -> None:
    keys = RedisKeys(prefix="p", bot_id="alpha")
    names = [keys.events_channel, keys.events_stream, keys.trades_stream, keys.commands_stream,
             keys.status_key, keys.seq_key, keys.heartbeat_key, keys.recorder_heartbeat_key]
    assert len(set(names)) == len(names)
    assert all(name.startswith("p:bot:alpha:") for name in names)
    with pytest.raises(ContractError):
        RedisKeys(prefix="p", bot_id="bad id")


def test_tiny_and_zero_amounts_travel_in_positional_notation() -> None:
    event = PriceUpdateEvent(seq=1, data=PriceData(symbol="BTCUSDT", price=Decimal("1E-8")))
    assert json.loads(encode_event(event))["data"]["price"] == "0.00000001"
    assert parse_event(encode_event(event)).data.price == Decimal("0.00000001")


def _price_frame(price: object) -> str:
    return json.dumps({"v": 1, "type": "price_update", "seq": 1, "ts": "2026-01-01T00:00:00Z", "bot": "main",
                       "data": {"symbol": "BTCUSDT", "price": price}})


def test_money_must_be_a_decimal_string_not_a_json_number() -> None:
    assert parse_event(_price_frame("0.1")).data.price == Decimal("0.1")
    for bad in (0.1, True):
        with pytest.raises(ContractError):
            parse_event(_price_frame(bad))


@pytest.mark.parametrize(
    ("field", "value"),
    [("qty", "0"), ("price", "-1"), ("fee", "-0.01"), ("fee_asset", "usdt"), ("order_id", "x" * 65),
     ("reason", "r" * 201)],
)
def test_trades_the_database_would_refuse_are_refused_by_the_contract(field: str, value: str) -> None:
    data = {"trade_id": "t1", "symbol": "BTCUSDT", "side": "buy", "qty": "1", "price": "1", "quote_qty": "1",
            "fee": "0", "fee_asset": "USDT", "realized_pnl": "0", "executed_at": "2026-01-01T00:00:00Z"}
    frame = {"v": 1, "type": "trade_executed", "seq": 1, "ts": "2026-01-01T00:00:00Z", "bot": "main",
             "data": data}
    parse_event(json.dumps(frame))
    data[field] = value
    with pytest.raises(ContractError):
        parse_event(json.dumps(frame))


def test_limits_count_utf8_bytes_not_characters() -> None:
    assert not over_bytes("a" * 4096, 4096) and over_bytes("a" * 4097, 4096)
    assert over_bytes("\u00e9" * 2049, 4096) and not over_bytes("\u00e9" * 2048, 4096)  # two bytes each
    assert over_bytes(b"x" * 4097, 4096)


def test_an_envelope_names_a_valid_bot() -> None:
    """The bot id is embedded in Redis names and page URLs: the contract refuses anything else."""
    for bad in ("", "a:b", "x" * 33, "a b", "../x"):
        with pytest.raises(ContractError):
            parse_event(encode_event(PriceUpdateEvent(seq=1, data=PriceData(symbol="BTCUSDT", price=Decimal(1))))
                        .replace('"bot":"main"', f'"bot":"{bad}"'))


def test_events_channels_name_their_bot_and_the_pattern_matches_only_them() -> None:
    keys = RedisKeys(prefix="p*x", bot_id="alpha")
    assert keys.bot_of_events_channel(keys.events_channel) == "alpha"
    assert keys.bot_of_events_channel(keys.for_bot("b-2").events_channel) == "b-2"
    assert keys.bot_of_events_channel("other:bot:alpha:events") is None
    assert keys.bot_of_events_channel("p*x:bot:a:b:events") is None  # not a bot id
    assert keys.events_pattern == r"p\*x:bot:*:events"  # the prefix matched literally
