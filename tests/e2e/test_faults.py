"""Kill every process in the path (kill -9, real Redis): no trade lost or doubled, screens true.

Each scenario trades fast, injects its fault, recovers, stops the bot, then asserts that the
database holds exactly the bot's ledger and that a client which stayed connected (reconnecting
and resuming like the page) has the same state as a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect as redis_connect
from scripts import embedded_redis
from tests.e2e.faults import (
    FAST,
    LongClient,
    assert_same_as_fresh_page,
    journal_of,
    kill9,
    published_seq,
    settle,
    stop_bot,
)
from tests.stack import Browserless, Stack, running_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]


class Scenario:
    """A running stack on its own Redis, a logged-in session and a long-lived client."""

    def __init__(self, stack: Stack, redis: embedded_redis.EmbeddedRedis, tmp: Path, aof: bool) -> None:
        self.stack, self.redis, self.tmp, self.aof = stack, redis, tmp, aof
        self.session = Browserless(stack.base_url)
        self.client: LongClient
        self.task: asyncio.Task[None]

    async def start_client(self) -> None:
        await asyncio.to_thread(self.session.login)
        self.client = LongClient(self.stack, self.session)
        self.task = asyncio.create_task(self.client.run())
        await self.trades(3)

    async def trades(self, count: int) -> None:
        """Wait until the bot's ledger has grown by `count` trades."""
        def ledger_size() -> int:
            journal = journal_of(self.stack)
            try:
                return len(journal.trade_ids())
            finally:
                journal.close()
        target = await asyncio.to_thread(ledger_size) + count
        await asyncio.to_thread(wait_for, lambda: ledger_size() >= target, 30, f"{count} more trades")

    async def restart_redis(self) -> None:
        self.redis.process.kill()  # kill -9
        self.redis.process.wait()
        self.redis = embedded_redis.start(self.tmp / "redis", port=self.redis.port, persist=False, aof=self.aof)

    async def finish(self) -> list[str]:
        """Stop the bot, check DB == ledger and client == fresh page; return the ledger."""
        await stop_bot(self.stack)
        ledger = await settle(self.stack)
        assert len(ledger) == len(set(ledger)), "a trade id twice in the ledger"
        # Then end the process (prices flow while stopped): nothing moves, so the client and a
        # fresh page can be compared at the very same, final seq.
        assert await asyncio.to_thread(self.stack.stop, "bot") == 0, "the bot did not stop cleanly"
        await assert_same_as_fresh_page(self.client, self.session, await published_seq(self.stack))
        self.task.cancel()
        await self.client.close()
        print(f"\n  ledger {len(ledger)} trades == database; client applied {self.client.frames} frames, "
              f"resumes {self.client.resumes}")
        return ledger


@pytest.fixture
async def scenario(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Scenario]:
    aof = getattr(request, "param", False)
    redis = embedded_redis.start(tmp_path / "redis", persist=False, aof=aof)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    try:
        with running_stack(redis_url=redis.url, prefix=prefix, tmp=tmp_path, **FAST) as stack:
            s = Scenario(stack, redis, tmp_path, aof)
            await s.start_client()
            try:
                yield s
            finally:
                s.task.cancel()
    finally:
        s.redis.stop() if "s" in locals() else redis.stop()  # a restart may have replaced it


@pytest.mark.parametrize("scenario", [True, False], ids=["aof", "no-persistence"], indirect=True)
async def test_redis_killed_and_restarted(scenario: Scenario) -> None:
    # With the recorder down, trades wait in the trades stream: a Redis without persistence
    # loses them, and only the bot's ledger can bring them back.
    kill9(scenario.stack, "recorder")
    await scenario.trades(5)
    await scenario.restart_redis()
    if not scenario.aof:
        bot_log = scenario.stack.log
        detected = await asyncio.to_thread(
            wait_for, lambda: re.search(r"sent (\d+) unrecorded trade", bot_log("bot")), 30, "loss detection"
        )
        assert int(detected.group(1)) >= 5, detected.group(0)  # at least the trades made while unrecorded
    scenario.stack.start("recorder")
    await scenario.trades(5)
    ledger = await scenario.finish()
    assert len(ledger) >= 13
    if scenario.aof:
        assert "Redis lost its data" not in scenario.stack.log("bot")  # AOF kept everything


async def test_recorder_killed_and_restarted_later(scenario: Scenario) -> None:
    kill9(scenario.stack, "recorder")
    await scenario.trades(10)  # trades pile up in the stream while nobody records
    scenario.stack.start("recorder")
    await scenario.trades(3)
    await scenario.finish()


async def test_web_killed_and_restarted_clients_resume(scenario: Scenario) -> None:
    kill9(scenario.stack, "web")
    await scenario.trades(5)
    scenario.stack.start("web")
    await asyncio.to_thread(wait_for, scenario.stack.health, 30, "Daphne back")
    await scenario.trades(3)
    await scenario.finish()
    assert scenario.client.resumes and all(scenario.client.resumes), scenario.client.resumes


async def test_bot_killed_and_restarted_seq_continues(scenario: Scenario) -> None:
    before = scenario.client.model.last_seq or 0
    kill9(scenario.stack, "bot")
    scenario.stack.start("bot")
    await scenario.trades(5)
    assert (scenario.client.model.last_seq or 0) > before
    ledger = await scenario.finish()
    assert len(ledger) == len(set(ledger))


async def test_garbage_on_every_redis_channel_is_skipped(scenario: Scenario) -> None:
    keys = RedisKeys(prefix=scenario.stack.env["REDIS_PREFIX"])
    redis = redis_connect(scenario.stack.env["REDIS_URL"])
    good_envelope_bad_type = '{"v":1,"type":"rocket_launch","seq":1,"ts":"2026-01-01T00:00:00Z","bot":"main","data":{}}'
    garbage = [b"not json", b"\xff\xfe", b"[]", good_envelope_bad_type.encode(),
               b'{"v":1,"type":"price_update","seq":"x"}', b"x" * 2_000_000]
    try:
        for junk in garbage:
            await redis.publish(keys.events_channel, junk)
            await redis.xadd(keys.trades_stream, {"e": junk})
            await redis.xadd(keys.commands_stream, {"c": junk})
            await redis.xadd(keys.trades_stream, {"wrong-field": b"1"})
    finally:
        await redis.aclose()
    await scenario.trades(5)  # everything keeps working
    await scenario.finish()
    for name in ("web", "recorder", "bot"):
        if name != "bot":  # finish() stopped the bot
            assert scenario.stack.processes[name].poll() is None, f"{name} died"
        assert "Traceback" not in scenario.stack.log(name), scenario.stack.log(name)[-2000:]
    assert "skipped a message" in scenario.stack.log("web")
    assert "skipped trade stream entry" in scenario.stack.log("recorder")
