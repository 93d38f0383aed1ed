"""Kill every process in the path (kill -9, real Redis): no trade lost or doubled, screens true.

Each scenario trades fast, injects its fault, recovers, stops the bot, then asserts that the
database holds exactly the bot's ledger and that a client which stayed connected (reconnecting
and resuming like the page) has the same state as a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect as redis_connect
from tests.e2e.faults import Scenario, kill9
from tests.stack import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]


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
    await asyncio.to_thread(wait_for, scenario.stack.health, 30, "the web server back")
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
    assert "moved to" in scenario.stack.log("recorder")  # the recorder's garbage went to the dead letters
