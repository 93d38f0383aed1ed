"""A reconnecting client resumes: the events it missed, in order, or an honest fresh snapshot."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from bot_api.keys import RedisKeys
from tests.e2e.wsclient import Frame, collect_for, of_type, read_until
from tests.stack import Browserless, Stack

pytestmark = pytest.mark.e2e


def answer_to(command_id: str):  # type: ignore[no-untyped-def]
    return lambda f: f["type"] == "bot_control" and f["data"]["ref"] == command_id


async def last_seq_after(ws: ClientConnection, seconds: float) -> int:
    """Read for a while; return the last bot seq seen."""
    frames = await collect_for(ws, seconds)
    return max(f["seq"] for f in frames if f["seq"] is not None)


async def wait_for_stored_seq(stack: Stack, above: int) -> None:
    client = aioredis.Redis.from_url(stack.env["REDIS_URL"])
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    try:
        async with asyncio.timeout(20):
            while int(await client.get(keys.seq_key) or 0) <= above:
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def test_resume_replays_exactly_the_missed_events(stack: Stack, session: Browserless) -> None:
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await read_until(ws, of_type("status"), 5)
        last = await last_seq_after(ws, 1.5)
    await wait_for_stored_seq(stack, last + 5)  # the bot goes on while we are away

    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await ws.send(json.dumps({"command": "resume", "last_seq": last, "id": "resume-1"}))
        answer = await read_until(ws, answer_to("resume-1"), 5)  # frames before it are ignored
        assert answer["data"]["ok"] is True and answer["data"]["recovered"] is True
        after = [f for f in await collect_for(ws, 1.5) if f["seq"] is not None]
        seqs = [f["seq"] for f in after]
        assert seqs[: 5] == list(range(last + 1, last + 6)), seqs[:10]  # the missed ones, first
        assert seqs == list(range(last + 1, last + 1 + len(seqs))), "a gap or a duplicate"


async def test_resume_beyond_the_window_answers_with_a_fresh_snapshot(stack: Stack, session: Browserless) -> None:
    client = aioredis.Redis.from_url(stack.env["REDIS_URL"])
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    try:
        stored = int(await client.get(keys.seq_key) or 0)
        # The window lost the early events (exactly: an approximate trim may remove nothing).
        await client.xtrim(keys.events_stream, minid=f"{stored}-0", approximate=False)
    finally:
        await client.aclose()
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await ws.send(json.dumps({"command": "resume", "last_seq": 1, "id": "resume-2"}))
        seen: list[Frame] = []
        answer = await read_until(ws, answer_to("resume-2"), 5)
        assert answer["data"]["ok"] is True and answer["data"]["recovered"] is False
        status = await read_until(ws, lambda f: True, 5, seen)
        assert status["type"] == "status" and status["data"]["recovered"] is False
        nxt = await read_until(ws, lambda f: f["seq"] is not None and f["type"] != "status", 5)
        assert nxt["seq"] > status["seq"]


async def test_resume_from_the_future_is_not_replayed(stack: Stack, session: Browserless) -> None:
    async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        await ws.send(json.dumps({"command": "resume", "last_seq": 10**9, "id": "resume-3"}))
        answer = await read_until(ws, answer_to("resume-3"), 5)
        assert answer["data"]["recovered"] is False  # Redis lost its data, or another bot: resync
        assert (await read_until(ws, lambda f: True, 5))["type"] == "status"
