"""Property-based fuzzing of every parser that reads untrusted bytes: browser frames, events and
commands read from Redis, stored candles. Thousands of random and mutated inputs: each one is
parsed or refused with a ContractError (a stable code), never any other exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot_api.candles import parse_candles
from bot_api.commands import BotCommand, StopBot, parse_bot_command, parse_browser_frame
from bot_api.errors import ContractError
from bot_api.events import PriceData, PriceUpdateEvent, Side, TradeData, TradeExecutedEvent, parse_event

FUZZ = settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

VALID_FRAMES = [
    {"command": "start_bot", "id": "c-1"},
    {"command": "stop_bot", "id": "c-2", "close_positions": True},
    {"command": "close_position", "id": "c-3", "symbol": "BTCUSDT"},
    {"command": "request_status", "id": "c-4"},
    {"command": "resume", "id": "c-5", "last_seq": 12},
    {"command": "ack", "seq": 40},
]
VALID_EVENTS = [
    PriceUpdateEvent(seq=3, data=PriceData(symbol="BTCUSDT", price=Decimal("65000.5"))).model_dump(mode="json"),
    TradeExecutedEvent(seq=4, data=TradeData(
        trade_id="t", symbol="ETHUSDT", side=Side.SELL, qty=Decimal("0.5"), price=Decimal(3000),
        quote_qty=Decimal(1500), fee=Decimal("1.5"), fee_asset="USDT", realized_pnl=Decimal("-2"),
        executed_at=datetime(2026, 1, 1, tzinfo=UTC))).model_dump(mode="json"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Drop, replace or add a few fields of a valid message, recursively one level down."""
    out = dict(base)
    for _ in range(data.draw(st.integers(1, 4))):
        keys = list(out)
        action = data.draw(st.sampled_from(["drop", "replace", "add", "nest"]))
        if action == "drop" and keys:
            out.pop(data.draw(st.sampled_from(keys)))
        elif action == "replace" and keys:
            out[data.draw(st.sampled_from(keys))] = data.draw(json_values)
        elif action == "nest" and isinstance(out.get("data"), dict):
            out["data"] = mutate(out["data"], data)
        else:
            out[data.draw(st.text(max_size=10))] = data.draw(json_values)
    return out


def refused_cleanly(parse: Any, raw: str | bytes) -> None:
    """Parsed, or refused with a stable code and a message for people; any other exception fails."""
    refusal: ContractError | None = None
    try:
        parse(raw)
    except ContractError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.code and refusal.message


@FUZZ
@given(raw=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                     json_values.map(json.dumps)))
def test_random_browser_frames(raw: str) -> None:
    refused_cleanly(parse_browser_frame, raw)


@FUZZ
@given(data=st.data())
def test_mutated_browser_frames(data: st.DataObject) -> None:
    frame = mutate(data.draw(st.sampled_from(VALID_FRAMES)), data)
    refused_cleanly(parse_browser_frame, json.dumps(frame))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=400), json_values.map(lambda v: json.dumps(v).encode())))
def test_random_redis_messages(raw: bytes) -> None:
    for parse in (parse_event, parse_bot_command, parse_candles):
        refused_cleanly(parse, raw)


@FUZZ
@given(data=st.data())
def test_mutated_events_and_commands(data: st.DataObject) -> None:
    event = mutate(data.draw(st.sampled_from(VALID_EVENTS)), data)
    refused_cleanly(parse_event, json.dumps(event).encode())
    command = BotCommand.create(action=StopBot(id="x"), bot="main", issued_by="u")
    refused_cleanly(parse_bot_command, json.dumps(mutate(command.model_dump(mode="json"), data)))


def test_deep_nesting_and_huge_frames_are_refused() -> None:
    for raw in ("[" * 5000 + "]" * 5000, '{"command": "start_bot", "id": "' + "x" * 10_000 + '"}'):
        refused_cleanly(parse_browser_frame, raw)
    refused_cleanly(parse_event, b"[" * 100_000)
