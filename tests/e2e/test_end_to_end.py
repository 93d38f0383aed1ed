"""The whole path with real processes: bot → Redis → recorder / web server → WebSocket → admin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bot_api.events import PriceData, PriceUpdateEvent, encode_event, parse_event
from bot_api.keys import RedisKeys
from tests.e2e.wsclient import Frame, collect_for, of_type, read_until
from tests.stack import Browserless, Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]


def answer_to(command_id: str) -> Callable[[Frame], bool]:
    """Predicate: the bot_control answer to the command with this id."""
    return lambda f: f["type"] == "bot_control" and f["data"]["ref"] == command_id


async def test_live_path_start_stop_and_admin(stack: Stack, session: Browserless) -> None:
    """status first, price within 2 s, a trade within 30 s, stop halts trading, start resumes."""
    seen: list[Frame] = []
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        first = await read_until(ws, lambda f: True, 5, seen)
        assert first["type"] == "status", first
        assert first["v"] == 1 and first["bot"] == "main" and isinstance(first["seq"], int)
        assert set(first["data"]["prices"]) >= {"BTCUSDT", "ETHUSDT"}
        await read_until(ws, of_type("price_update"), 2, seen)
        trade = await read_until(ws, of_type("trade_executed"), 30, seen)
        for key in ("trade_id", "symbol", "side", "qty", "price", "fee"):
            assert key in trade["data"], key
        # Every frame is on-contract and bot seqs increase strictly.
        seqs = [f["seq"] for f in seen if f["seq"] is not None]
        assert seqs == sorted(set(seqs)), seqs
        for frame in seen:
            parse_event(json.dumps(frame))

        await ws.send(json.dumps({"command": "stop_bot", "id": "e2e-stop-1"}))
        after_stop: list[Frame] = []
        answer = await read_until(ws, answer_to("e2e-stop-1"), 5, after_stop)
        command_id = answer["data"]["id"]  # the web process's, not the page's: unguessable
        assert len(command_id) == 32 and int(command_id, 16) >= 0
        assert answer["data"] | {"recovered": None} == {
            "id": command_id, "ref": "e2e-stop-1", "command": "stop_bot", "ok": True, "error": None, "detail": None,
            "recovered": None,
        }
        changes = [f for f in after_stop if f["type"] == "status_change"]
        assert [c["data"]["state"] for c in changes] == ["stopped"], changes

        quiet = await collect_for(ws, 5)
        assert not [f for f in quiet if f["type"] == "trade_executed"], "a trade happened while stopped"
        assert [f for f in quiet if f["type"] == "price_update"], "prices must keep flowing while stopped"

        await ws.send(json.dumps({"command": "start_bot", "id": "e2e-start-1"}))
        after_start: list[Frame] = []
        answer = await read_until(ws, answer_to("e2e-start-1"), 5, after_start)
        assert answer["data"]["ok"] is True
        changes = [f for f in after_start if f["type"] == "status_change"]
        assert [c["data"]["state"] for c in changes] == ["running"], changes

    trade_id = trade["data"]["trade_id"]

    def listed_in_admin() -> bool:
        status, page = session.get(f"/admin/trades/trade/?q={trade_id}")
        assert status == 200, status
        return trade_id in page

    wait_for(listed_in_admin, 15, f"trade {trade_id} in the admin")


async def test_request_status_and_bad_frames_keep_the_socket(stack: Stack, session: Browserless) -> None:
    """Each malformed frame gets an `error` frame with a stable code; the socket keeps working."""
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await read_until(ws, of_type("status"), 5)
        cases: list[tuple[str | bytes, str]] = [
            ("not json", "invalid_json"),
            ("[1, 2]", "invalid_frame"),
            (json.dumps({"command": "launch_rockets", "id": "x1"}), "unknown_command"),
            (json.dumps({"command": "stop_bot"}), "invalid_frame"),
            (json.dumps({"command": "stop_bot", "id": "bad id with spaces"}), "invalid_frame"),
            (json.dumps({"command": "stop_bot", "id": "x2", "extra": 1}), "invalid_frame"),
            ("x" * 5000, "frame_too_large"),
            ("[" * 1500 + "]" * 1500, "invalid_json"),  # exhausts the JSON parser's recursion
            (b"\x00\x01binary", "invalid_frame"),
        ]
        for payload, code in cases:
            await ws.send(payload)
            error = await read_until(ws, of_type("error"), 5)
            assert error["data"]["code"] == code, (payload[:40], error)
            assert error["seq"] is None
        await ws.send(json.dumps({"command": "request_status", "id": "e2e-status-1"}))
        answers: list[Frame] = []
        await read_until(ws, answer_to("e2e-status-1"), 5, answers)
        assert [f for f in answers if f["type"] == "status"], "request_status must bring a fresh status"


async def test_the_server_closes_a_socket_that_sends_a_huge_frame(stack: Stack, session: Browserless) -> None:
    """Above the server's frame limit (1 MiB: Uvicorn's ws_max_size) a frame never reaches Django:
    the connection is closed. Below it, the application's own 4 KB limit answers `frame_too_large`."""
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10,
                       max_size=None) as ws:
        await read_until(ws, of_type("status"), 5)
        await ws.send("x" * 1_000_000)
        assert (await read_until(ws, of_type("error"), 5))["data"]["code"] == "frame_too_large"
        await ws.send("x" * 1_100_000)
        await asyncio.wait_for(ws.wait_closed(), 10)
    assert ws.close_code in (1006, 1009)  # 1009: message too big (Daphne drops the connection: 1006)


async def test_anonymous_socket_is_refused(stack: Stack) -> None:
    """No session cookie: the handshake is refused before any frame is sent."""
    with pytest.raises(InvalidStatus) as info:
        async with connect(stack.ws_url, additional_headers={"Origin": stack.base_url}, open_timeout=10):
            pass
    assert info.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",  # another site
        "http://127.0.0.1:1",  # the same host on another port: it gets the cookie too
        "https://localhost",  # an allowed host name, but not this origin
        None,  # no Origin at all: not a browser page
    ],
)
async def test_cross_origin_socket_is_refused(stack: Stack, session: Browserless, origin: str | None) -> None:
    """A logged-in cookie sent from anywhere but this very origin is refused."""
    headers = {k: v for k, v in session.ws_headers().items() if k != "Origin"}
    if origin is not None:
        headers["Origin"] = origin
    with pytest.raises(InvalidStatus) as info:
        async with connect(stack.ws_url, additional_headers=headers, open_timeout=10):
            pass
    assert info.value.response.status_code == 403


async def test_health_reports_every_part_without_secrets(stack: Stack) -> None:
    """/api/health names the state of Redis, the database, the bot and the recorder."""
    report = await asyncio.to_thread(stack.health)
    assert report is not None
    assert report["status"] == "ok"
    assert report["redis"] == "ok" and report["database"] == "ok"
    assert report["bot"] in {"running", "stopped"}
    text = json.dumps(report)
    assert "redis://" not in text and stack.env["SECRET_KEY"] not in text


async def test_dashboard_requires_login(stack: Stack) -> None:
    """The page redirects anonymous visitors to the login form."""
    status, page = await asyncio.to_thread(Browserless(stack.base_url).get, "/")
    assert status == 200 and 'name="csrfmiddlewaretoken"' in page  # followed the redirect to login


async def test_the_rest_snapshot_carries_the_marks_the_socket_had_at_its_seq(
    stack: Stack, session: Browserless
) -> None:
    """/api/dashboard and the socket agree on the money for the same seq: computed once, by the bot."""
    seen: list[Frame] = []
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await read_until(ws, of_type("status"), 5, seen)
        await read_until(ws, of_type("trade_executed"), 30, seen)  # positions open and close from here on
        compared = 0
        for _ in range(20):
            _, body = await asyncio.to_thread(session.get, "/api/dashboard")
            snapshot = json.loads(body)
            target = snapshot["seq"]
            await read_until(ws, lambda f, t=target: (f["seq"] or 0) >= t, 5, seen)
            event = next(f for f in seen if f["seq"] == target)
            if event["type"] not in ("status", "price_update", "portfolio"):
                continue  # a trade or an answer at that seq: its marks travel in the portfolio after it
            assert snapshot["data"]["marks"] == event["data"]["marks"], target
            compared += 1
            if compared == 3:
                break
    assert compared == 3, "three snapshots compared with the socket"


async def test_a_forged_high_seq_event_does_not_freeze_the_sockets(stack: Stack, session: Browserless) -> None:
    """Found by an attack run: one envelope with a huge seq PUBLISHed to the events channel made
    every socket drop the real events below it. The relay drops what the bot never stored."""
    forged = PriceUpdateEvent(seq=10**12, bot="main", data=PriceData(symbol="BTCUSDT", price=Decimal("1")))
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    seen: list[Frame] = []
    try:
        async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
            await read_until(ws, of_type("price_update"), 5, seen)
            before = max(f["seq"] or 0 for f in seen)
            await asyncio.to_thread(client.publish, keys.events_channel, encode_event(forged))
            later = await read_until(ws, lambda f: f["type"] == "price_update" and (f["seq"] or 0) > before, 5, seen)
            await read_until(ws, lambda f: (f["seq"] or 0) > later["seq"], 5, seen)  # and it goes on
    finally:
        client.close()
    assert not [f for f in seen if f["seq"] == 10**12], "the forged event reached a socket"
    assert not [f for f in seen if f["type"] == "price_update" and f["data"]["price"] == "1"]
