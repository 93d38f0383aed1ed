"""Three bots on one Redis, one dashboard: discovered, ranked, steered one at a time, one killed
and back, each bot's trades stored exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from bot_api.keys import RedisKeys
from tests.e2e.faults import journal_of, stored_trade_ids
from tests.e2e.wsclient import Frame, read_until
from tests.stack import Browserless, Stack, delete_prefix, procfile_commands, running_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]

BOTS = {
    "alpha": {"STRATEGY": "sma_cross", "SYMBOLS": "BTCUSDT"},
    "beta": {"STRATEGY": "mean_reversion", "SYMBOLS": "ETHUSDT"},
    "gamma": {"STRATEGY": "sma_cross", "SYMBOLS": "SOLUSDT,ETHUSDT"},
}
OFFLINE_WITHIN = 5.0
"""The heartbeat's TTL: three missed beats (4 s) and the relay's check every half second fit inside it."""


@pytest.fixture
def fleet(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Recorder and web, no bot yet: the test starts the bots."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path, services=("recorder", "web")) as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


@pytest.fixture
async def overview(fleet: Stack) -> AsyncIterator[tuple[Browserless, ClientConnection]]:
    session = Browserless(fleet.base_url)
    await asyncio.to_thread(session.login)
    url = fleet.ws_url.replace("/ws/dashboard/", "/ws/overview/")
    async with connect(url, additional_headers=session.ws_headers(), open_timeout=10) as ws:
        yield session, ws


def start_bot(stack: Stack, bot_id: str) -> None:
    stack.start(f"bot-{bot_id}", procfile_commands()["bot"], BOT_ID=bot_id, **BOTS[bot_id])


def heartbeat_up(stack: Stack, bot_id: str) -> bool:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        return bool(client.exists(RedisKeys(prefix=stack.env["REDIS_PREFIX"], bot_id=bot_id).heartbeat_key))
    finally:
        client.close()


def api(session: Browserless, path: str) -> Any:
    status, body = session.get(path)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


async def summaries_until(ws: ClientConnection, done: Any, timeout: float) -> dict[str, Frame]:
    """Read overview frames, keeping the newest summary per bot, until `done(summaries)` holds."""
    latest: dict[str, Frame] = {}

    def matches(frame: Frame) -> bool:
        if frame["type"] == "bot_summary":
            latest[frame["bot"]] = frame["data"]
        return bool(done(latest))

    if not done(latest):
        await read_until(ws, matches, timeout)
    return latest


async def test_three_bots_one_dashboard(fleet: Stack, overview: tuple[Browserless, ClientConnection]) -> None:
    session, ws = overview
    # Discovery: each bot on the overview and in /api/bots within 2 s of its heartbeat.
    for bot_id in BOTS:
        start_bot(fleet, bot_id)
        await asyncio.to_thread(wait_for, lambda b=bot_id: heartbeat_up(fleet, b), 30, f"{bot_id} to start")
        up_at = time.monotonic()
        await summaries_until(ws, lambda s, b=bot_id: s.get(b, {}).get("online") and s[b].get("state"), 2.0)
        listed = await asyncio.to_thread(api, session, "/api/bots")
        assert bot_id in {bot["id"] for bot in listed}
        assert time.monotonic() - up_at <= 2.0
    bots = {bot["id"]: bot for bot in await asyncio.to_thread(api, session, "/api/bots")}
    assert set(bots) == set(BOTS)
    for bot_id, settings in BOTS.items():
        assert bots[bot_id]["strategy"] == settings["STRATEGY"]
        assert bots[bot_id]["symbols"] == settings["SYMBOLS"].split(",")
        assert bots[bot_id]["online"] is True and bots[bot_id]["mode"] == "paper"

    # /api/bots shows each bot's own figures (compared at the same seq).
    await asyncio.to_thread(wait_for, lambda: all(journal_size(fleet, b) >= 2 for b in BOTS), 60, "trades of every bot")
    for bot_id in BOTS:
        await assert_own_figures(session, bot_id)

    # A stop sent to one bot stops that bot only.
    await stop(fleet, session, "beta")
    states = {bot["id"]: bot["state"] for bot in await asyncio.to_thread(api, session, "/api/bots")}
    assert states == {"alpha": "running", "beta": "stopped", "gamma": "running"}, states
    assert command_streams(fleet) == {"alpha": 0, "beta": 1, "gamma": 0}  # delivered to beta alone

    # kill -9 of one bot: offline within the heartbeat's timeout; the others keep streaming.
    seq_before = (await bot_snapshot(session, "gamma"))["seq"]
    killed_at = time.monotonic()
    fleet.stop("bot-gamma", sig=signal.SIGKILL)
    await summaries_until(ws, lambda s: s.get("gamma", {}).get("online") is False, OFFLINE_WITHIN + 1)
    assert time.monotonic() - killed_at <= OFFLINE_WITHIN, "shown offline later than its heartbeat's TTL"
    await assert_streaming(fleet, session, "alpha")
    start_bot(fleet, "gamma")
    await summaries_until(ws, lambda s: s.get("gamma", {}).get("online") is True, 30)
    again = await bot_snapshot(session, "gamma")
    assert again["seq"] > seq_before, "seq did not continue after the restart"

    # Stopped and flat, every total holds still: the overview's ranking is the bots' own.
    for bot_id in BOTS:
        await stop(fleet, session, bot_id, close=True)
    totals = {}
    for bot_id in BOTS:
        snapshot = await bot_snapshot(session, bot_id)
        assert snapshot["data"]["positions"] == [] and snapshot["data"]["state"] == "stopped", snapshot["data"]
        totals[bot_id] = snapshot["data"]["marks"]["total"]
    summaries = await summaries_until(
        ws, lambda s: all(s.get(b, {}).get("pnl", {}).get("total") == totals[b] for b in BOTS), 5)
    ranking = sorted(BOTS, key=lambda b: Decimal(summaries[b]["pnl"]["total"]), reverse=True)
    assert ranking == sorted(BOTS, key=lambda b: Decimal(totals[b]), reverse=True)

    # Each bot's trades are stored exactly once: ledger == database, per bot.
    for bot_id in BOTS:
        ledger = await settled_ledger(fleet, bot_id)
        stored = await asyncio.to_thread(stored_trade_ids, fleet, bot_id)
        assert len(stored) == len(set(stored)) and sorted(stored) == sorted(ledger), bot_id
        assert ledger, f"{bot_id} made no trade"


def journal_size(stack: Stack, bot_id: str) -> int:
    journal = journal_of(stack, bot_id)
    try:
        return len(journal.trade_ids())
    finally:
        journal.close()


async def bot_snapshot(session: Browserless, bot_id: str) -> Frame:
    snapshot: Frame = await asyncio.to_thread(api, session, f"/api/dashboard?bot={bot_id}")
    assert snapshot["bot"] == bot_id
    return snapshot


async def assert_own_figures(session: Browserless, bot_id: str) -> None:
    """/api/bots shows the same P&L as the bot's own snapshot (compared at the same seq)."""
    for _ in range(50):
        listed = {b["id"]: b for b in await asyncio.to_thread(api, session, "/api/bots")}[bot_id]
        snapshot = await bot_snapshot(session, bot_id)
        marks = snapshot["data"]["marks"]
        if marks is not None and listed["pnl"]["total"] == marks["total"]:
            assert listed["equity"] == marks["equity"] and listed["trade_count"] == snapshot["data"]["trade_count"]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"/api/bots never agreed with the snapshot of {bot_id}")


async def stop(stack: Stack, session: Browserless, bot_id: str, *, close: bool = False) -> None:
    url = stack.ws_url.replace("/ws/dashboard/", f"/ws/bots/{bot_id}/")
    async with connect(url, additional_headers=session.ws_headers(), open_timeout=10) as bot_ws:
        first = await read_until(bot_ws, lambda f: True, 5)
        assert first["type"] == "status" and first["bot"] == bot_id
        ref = f"stop-{bot_id}-{close}"
        await bot_ws.send(json.dumps({"command": "stop_bot", "id": ref, "close_positions": close}))
        seen: list[Frame] = []
        answer = await read_until(bot_ws, lambda f: f["type"] == "bot_control" and f["data"]["ref"] == ref, 10, seen)
        assert answer["data"]["ok"] is True and answer["bot"] == bot_id
        assert all(f["bot"] == bot_id for f in seen), "a frame of another bot on this bot's socket"


def command_streams(stack: Stack) -> dict[str, int]:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        return {b: int(client.xlen(RedisKeys(prefix=stack.env["REDIS_PREFIX"], bot_id=b).commands_stream))
                for b in BOTS}
    finally:
        client.close()


async def assert_streaming(stack: Stack, session: Browserless, bot_id: str) -> None:
    url = stack.ws_url.replace("/ws/dashboard/", f"/ws/bots/{bot_id}/")
    async with connect(url, additional_headers=session.ws_headers(), open_timeout=10) as bot_ws:
        await read_until(bot_ws, lambda f: f["type"] == "price_update" and f["bot"] == bot_id, 3)


async def settled_ledger(stack: Stack, bot_id: str, timeout: float = 60) -> list[str]:
    """The bot's ledger once it is stopped, its outbox empty and the database holds it all."""
    async with asyncio.timeout(timeout):
        while True:
            journal = journal_of(stack, bot_id)
            try:
                ledger, pending = journal.trade_ids(), journal.pending_count()
            finally:
                journal.close()
            stored = await asyncio.to_thread(stored_trade_ids, stack, bot_id)
            if pending == 0 and sorted(stored) == sorted(ledger):
                return ledger
            await asyncio.sleep(0.3)
