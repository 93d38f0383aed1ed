"""A Redis outage does not kill open sockets: the relay reconnects and events flow again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from scripts import embedded_redis
from tests.e2e.wsclient import Frame, of_type, read_until
from tests.stack import Browserless, Stack, running_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[embedded_redis.EmbeddedRedis]:
    server = embedded_redis.start(tmp_path / "redis", persist=False)
    yield server
    server.stop()


async def test_sockets_survive_a_redis_restart(own_redis: embedded_redis.EmbeddedRedis, tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    with running_stack(redis_url=own_redis.url, prefix=prefix, tmp=tmp_path, TICK_INTERVAL="0.2") as stack:
        try:
            await _exercise(stack, own_redis, tmp_path)
        except AssertionError:
            print("--- bot log ---\n" + stack.log("bot")[-4000:])
            print("--- web log ---\n" + stack.log("web")[-3000:])
            raise


async def _exercise(stack: Stack, server: embedded_redis.EmbeddedRedis, tmp_path: Path) -> None:
    session = Browserless(stack.base_url)
    await asyncio.to_thread(session.login)
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await read_until(ws, of_type("status"), 5)
        await read_until(ws, of_type("price_update"), 5)

        server.stop()  # every Redis connection of every process drops at once
        await asyncio.sleep(1)  # an outage, not a blip; the socket must stay open throughout
        replacement = embedded_redis.start(tmp_path / "redis2", port=server.port, persist=False)
        try:
            seen: list[Frame] = []
            # Events made after the restart reach the same socket: the relay re-subscribed by itself.
            restarted = datetime.now(UTC)
            await read_until(
                ws, lambda f: f["type"] == "price_update" and datetime.fromisoformat(f["ts"]) > restarted, 30, seen
            )
            # Until the bot's heartbeat is back in the new Redis, commands are answered bot_offline.
            await asyncio.to_thread(
                wait_for, lambda: (stack.health() or {}).get("bot") == "running", 15, "the bot's heartbeat"
            )
            await ws.send(json.dumps({"command": "request_status", "id": "after-outage"}))
            answer = await read_until(
                ws, lambda f: f["type"] == "bot_control" and f["data"]["ref"] == "after-outage", 15, seen
            )
            assert answer["data"]["ok"] is True, answer
            assert ws.close_code is None
        finally:
            replacement.stop()
            server.process = replacement.process  # the fixture stops whichever runs
    assert "Traceback" not in stack.log("web"), stack.log("web")[-3000:]
