"""Beyond one process: Redis behind Sentinel loses its master, and one of two recorders dies.

Everything runs on loopback as separate processes: a Redis master and its replica, three
Sentinels, the bot, two web processes and two recorders, all finding the master through the
Sentinels. While trades flow the master is killed -9: Sentinel promotes the replica, every
process follows it, and trades flow again within seconds. Then one recorder is killed mid-burst
and the other takes over what it held. At the end the database holds exactly the bot's ledger,
once each, and a client on each web process, connected throughout, equals a fresh page.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect_sync
from scripts.embedded_redis import free_port
from tests.e2e.faults import (
    FAST,
    LongClient,
    assert_same_as_fresh_page,
    journal_of,
    kill9,
    published_seq,
    settle,
    stop_bot,
    stored_trade_ids,
)
from tests.sentinels import SentinelGroup, sentinel_group
from tests.stack import Browserless, Stack, procfile_commands, redis_target, running_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]

RECORDERS = ("recorder", "recorder2")
FLOWS_AGAIN_WITHIN = 15.0
"""Seconds from the master's death until new trades are stored again (the issue's bound)."""


def ledger(stack: Stack) -> list[str]:
    journal = journal_of(stack)
    try:
        return journal.trade_ids()
    finally:
        journal.close()


async def published(stack: Stack, count: int) -> None:
    """Wait until the bot's ledger has `count` more trades (stored or not)."""
    before = len(await asyncio.to_thread(ledger, stack))
    await asyncio.to_thread(wait_for, lambda: len(ledger(stack)) >= before + count, 30, f"{count} more trades")


async def grown_by(stack: Stack, count: int, timeout: float = 30) -> list[str]:
    """Wait until the bot's ledger has `count` more trades, all of them stored; return the new ones."""
    before = set(await asyncio.to_thread(ledger, stack))

    def new_and_stored() -> list[str]:
        new = [t for t in ledger(stack) if t not in before]
        return new if len(new) >= count and set(new) <= set(stored_trade_ids(stack)) else []

    return list(await asyncio.to_thread(wait_for, new_and_stored, timeout, f"{count} new trades stored", 0.2))


def holding(stack: Stack, consumer: str) -> int:
    """How many trades-stream entries `consumer` read and did not acknowledge."""
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    client = connect_sync(redis_target(stack))
    try:
        return len(client.xpending_range(keys.trades_stream, keys.recorder_group, "-", "+", 1000,
                                         consumername=consumer))
    finally:
        client.close()


def kill_holding(stack: Stack, name: str, consumer: str, attempts: int = 200) -> int:
    """Freeze a recorder until it holds entries it read and did not acknowledge, then kill -9 it;
    return how many it held."""
    process = stack.processes[name]
    for _ in range(attempts):
        os.killpg(process.pid, signal.SIGSTOP)
        held = holding(stack, consumer)
        if held:
            kill9(stack, name)
            return held
        os.killpg(process.pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"{name} never held a trade in {attempts} looks")


def _healthy(stack: Stack) -> dict[str, object] | None:
    report = stack.health()
    return report if report and report.get("status") == "ok" else None


async def test_master_killed_sentinel_promotes_and_nothing_is_lost(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    with sentinel_group(tmp_path / "redis") as group:
        env = {**FAST, **group.env(), "RECORDER_CLAIM_IDLE": "2"}
        redis_url = env.pop("REDIS_URL")
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path, **env) as stack:
            try:
                await _exercise(stack, group)
            except BaseException:
                for name in ("bot", "web", "web2", "recorder", "recorder2"):
                    print(f"--- {name} log ---\n" + stack.log(name)[-3000:])
                raise


async def _exercise(stack: Stack, group: SentinelGroup) -> None:
    commands = procfile_commands()
    web2_port = free_port()
    stack.start("web2", commands["web"], WEB_PORT=str(web2_port))
    stack.start("recorder2", commands["recorder"], RECORDER_NAME=f"rec2-{stack.env['REDIS_PREFIX']}")
    web2 = f"http://127.0.0.1:{web2_port}"
    sessions = [Browserless(stack.base_url), Browserless(web2)]
    await asyncio.to_thread(wait_for, lambda: sessions[1].get("/api/health")[0] == 200, 30, "the second web process")
    for session in sessions:
        await asyncio.to_thread(session.login)
    clients = [LongClient(stack, sessions[0]),
               LongClient(stack, sessions[1], ws_url=f"ws://127.0.0.1:{web2_port}/ws/dashboard/")]
    tasks = [asyncio.create_task(client.run()) for client in clients]
    try:
        await grown_by(stack, 5)
        health = stack.health() or {}
        assert health.get("redis_master", {}).get("found_by") == "sentinel", health
        assert health["redis_master"]["address"] == f"127.0.0.1:{group.master.port}", health

        # The master dies while trades flow, after trades that neither the replica nor a recorder
        # got (the recorders frozen meanwhile); Sentinel promotes the replica, which lacks them:
        # only the bot's ledger has them, and it must send them again.
        group.cut_replica()
        for name in RECORDERS:
            os.killpg(stack.processes[name].pid, signal.SIGSTOP)
        await published(stack, 3)
        killed = time.monotonic()
        group.kill_master()
        group.resume_replica()
        for name in RECORDERS:
            os.killpg(stack.processes[name].pid, signal.SIGCONT)
        await asyncio.to_thread(wait_for, lambda: group.master_port() == group.replica.port, 20, "the promotion")
        promoted = time.monotonic() - killed
        await grown_by(stack, 3, timeout=FLOWS_AGAIN_WITHIN + 15)
        flowing = time.monotonic() - killed
        print(f"\n  promoted after {promoted:.1f} s; new trades stored after {flowing:.1f} s")
        assert flowing < FLOWS_AGAIN_WITHIN, f"trades stored again only {flowing:.1f} s after the master died"
        # Its next heartbeat (each second) sees another server, and sends what it may lack.
        resent = await asyncio.to_thread(
            wait_for, lambda: re.search(r"the Redis master changed: sent (\d+) unrecorded trade", stack.log("bot")),
            15, "the bot to notice the new master")
        assert int(resent.group(1)) >= 3, resent.group(0)  # at least the trades made while cut off
        health = await asyncio.to_thread(wait_for, lambda: _healthy(stack), 15, "the web process on the new master")
        assert health["redis_master"]["address"] == f"127.0.0.1:{group.replica.port}", health

        # One recorder of two dies mid-burst, holding trades it read and never stored: the other
        # claims them (after RECORDER_CLAIM_IDLE) and stores the rest.
        dead = f"rec-{stack.env['REDIS_PREFIX']}"
        held = await asyncio.to_thread(kill_holding, stack, "recorder", dead)
        await asyncio.to_thread(wait_for, lambda: not holding(stack, dead), 30, "the dead recorder's trades claimed")
        assert "claimed" in stack.log("recorder2"), "the surviving recorder took nothing over"
        await grown_by(stack, 10, timeout=45)
        print(f"  the killed recorder held {held} trade(s)")

        await stop_bot(stack)
        trades = await settle(stack, timeout=60)
        assert len(trades) == len(set(trades)), "a trade id twice in the ledger"
        stored = await asyncio.to_thread(stored_trade_ids, stack)
        assert sorted(stored) == sorted(trades) and len(stored) == len(set(stored)), "database != ledger"
        assert await asyncio.to_thread(stack.stop, "bot") == 0, "the bot did not stop cleanly"
        top = await published_seq(stack)
        for client, session in zip(clients, sessions, strict=True):
            await assert_same_as_fresh_page(client, session, top)
        print(f"  ledger {len(trades)} trades == database; clients applied {[c.frames for c in clients]} frames, "
              f"resumes {[c.resumes for c in clients]}")
        for name in ("web", "web2", "recorder2"):
            assert "Traceback" not in stack.log(name), stack.log(name)[-3000:]
    finally:
        for task in tasks:
            task.cancel()
        for client in clients:
            await client.close()
