"""Harness for the fault tests: a fast-trading stack, a client that models the page, the checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.journal import Journal
from bot_api.command_bus import CommandBus
from bot_api.commands import BotCommand, StopBot
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect as redis_connect
from scripts import embedded_redis
from tests.frames import split_frame
from tests.stack import Browserless, Stack, redis_target, wait_for

# Fast trading: 50 ticks/s per symbol and short SMA windows trade several times a second.
FAST = {"TICK_INTERVAL": "0.02", "SMA_FAST": "2", "SMA_SLOW": "4", "STRATEGY_TIMEFRAME": "0"}


def kill9(stack: Stack, name: str) -> None:
    """SIGKILL a service's whole process group (no clean-up of any kind)."""
    proc = stack.processes.pop(name)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def journal_of(stack: Stack, bot_id: str = "main") -> Journal:
    """A bot's journal, opened read-side from the test (SQLite WAL allows it)."""
    return Journal(Path(stack.env["VAR_DIR"]) / f"bot-{bot_id}.sqlite3")


def stored_trade_ids(stack: Stack, bot_id: str = "main") -> list[str]:
    """A bot's trade ids in the stack's database (SQLite file or PostgreSQL), in no particular order."""
    url = stack.env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            return [row[0] for row in db.execute("SELECT trade_id FROM trades_trade WHERE bot_id = ?", (bot_id,))]
    with psycopg.connect(url) as db:
        return [row[0] for row in db.execute("SELECT trade_id FROM trades_trade WHERE bot_id = %s", (bot_id,))]


MAX_RECENT = 50
"""Trades a status lists (the bot's RECENT_TRADES, the page's MAX_TRADES)."""


@dataclass
class PageModel:
    """What the dashboard holds, built only from frames (a status replaces; trades and the account
    after each fill apply to it, as the page's portfolio.js does)."""

    status: dict[str, Any] | None = None
    prices: dict[str, str] = field(default_factory=dict)
    last_seq: int | None = None

    def apply(self, frame: dict[str, Any]) -> None:
        """Apply one frame as the page does."""
        kind, data = frame["type"], frame["data"]
        if kind == "status":
            self.status = json.loads(json.dumps(data))
            self.prices = dict(data["prices"])
        elif kind == "price_update":
            self.prices[data["symbol"]] = data["price"]
        elif kind == "status_change" and self.status is not None:
            self.status["state"] = data["state"]
        elif kind == "trade_executed" and self.status is not None:
            recent = self.status["recent_trades"]
            if all(t["trade_id"] != data["trade_id"] for t in recent):
                self.status["recent_trades"] = [data, *recent][:MAX_RECENT]
        elif kind == "portfolio" and self.status is not None:
            # As the page's applyPortfolio: positions by symbol (null: closed), the figures replaced.
            held = {p["symbol"]: p for p in self.status["positions"]}
            for symbol, position in data["positions"].items():
                if position is None:
                    held.pop(symbol, None)
                else:
                    held[symbol] = position
            self.status["positions"] = [held[symbol] for symbol in sorted(held)]
            self.status.update({k: v for k, v in data.items() if k != "positions" and v is not None})
        if frame["seq"] is not None:
            self.last_seq = frame["seq"]

    def view(self) -> dict[str, Any]:
        """The parts of the state that must equal a fresh snapshot at the same seq."""
        s = self.status or {}
        return {
            "state": s.get("state"),
            "trade_count": s.get("trade_count"),
            "cash": s.get("cash"),
            "realized": (s.get("pnl") or {}).get("realized"),
            "positions": [(p["symbol"], p["qty"], p["avg_entry"]) for p in s.get("positions", [])],
            "recent": [t["trade_id"] for t in s.get("recent_trades", [])],
            "prices": dict(self.prices),
        }


@dataclass
class LongClient:
    """A client that stays for the whole scenario: reconnects and resumes like the page."""

    stack: Stack
    session: Browserless
    model: PageModel = field(default_factory=PageModel)
    ws_url: str = ""
    """The socket to use (default: the stack's web process)."""
    resumes: list[bool] = field(default_factory=list)
    ws: ClientConnection | None = None
    frames: int = 0
    acked: int | None = None
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified after every frame applied."""

    async def open(self) -> None:
        """Connect (retrying while the web process is down); resume if it had state."""
        async with asyncio.timeout(60):
            while True:
                try:
                    self.ws = await connect(self.ws_url or self.stack.ws_url,
                                            additional_headers=self.session.ws_headers())
                    break
                except Exception:  # noqa: BLE001 - refused, reset, or a 502 while the web server starts
                    await asyncio.sleep(0.3)
        if self.model.last_seq is None:
            return
        rid = f"resume-{uuid.uuid4().hex[:6]}"
        await self.ws.send(json.dumps({"command": "resume", "last_seq": self.model.last_seq, "id": rid}))
        while True:  # frames before the answer are dropped, as the page does (the answer comes alone)
            frame = split_frame(await self.ws.recv())[0]
            if frame["type"] == "bot_control" and frame["data"]["ref"] == rid:
                self.resumes.append(bool(frame["data"]["recovered"]))
                return

    async def run(self) -> None:
        """Apply frames forever, reconnecting on any close (cancel to stop)."""
        while True:
            if self.ws is None:
                await self.open()
            assert self.ws is not None
            try:
                batch = split_frame(await asyncio.wait_for(self.ws.recv(), 1))
            except TimeoutError:
                batch = []
            except ConnectionClosed:
                self.ws = None
                continue
            for frame in batch:
                self.model.apply(frame)
            self.frames += len(batch)
            async with self.progress:
                self.progress.notify_all()
            # Acks as the page sends them: after 100 frames, or when a second passed with some unacked.
            due = self.frames // 100 > (self.frames - len(batch)) // 100 or not batch
            if due and self.model.last_seq is not None and self.model.last_seq != self.acked:
                self.acked = self.model.last_seq
                with contextlib.suppress(ConnectionClosed):
                    await self.ws.send(json.dumps({"command": "ack", "seq": self.acked}))

    async def reached(self, seq: int, timeout: float = 15) -> None:
        """Wait until the client has applied the bot's event `seq` (or a later one)."""
        async with asyncio.timeout(timeout), self.progress:
            await self.progress.wait_for(lambda: (self.model.last_seq or 0) >= seq)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def stop_bot(stack: Stack) -> None:
    """Ask the bot to stop trading (through the commands stream, as the web process does)."""
    redis = redis_connect(redis_target(stack))
    try:
        keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
        cmd = BotCommand.create(action=StopBot(id=f"stop-{uuid.uuid4().hex[:6]}"), bot="main", issued_by="fault-test")
        await CommandBus(redis, keys).send(cmd)
    finally:
        await redis.aclose()


async def published_seq(stack: Stack) -> int:
    """The last seq the bot published to Redis."""
    redis = redis_connect(redis_target(stack))
    try:
        return int(await redis.get(RedisKeys(prefix=stack.env["REDIS_PREFIX"]).seq_key) or 0)
    finally:
        await redis.aclose()


async def settle(stack: Stack, timeout: float = 60) -> list[str]:
    """Wait until the bot is stopped, its outbox is empty and the database holds its ledger."""
    async with asyncio.timeout(timeout):
        while True:
            journal = journal_of(stack)
            try:
                ledger, pending, state = journal.trade_ids(), journal.pending_count(), journal.state()
            finally:
                journal.close()
            stored = await asyncio.to_thread(stored_trade_ids, stack)
            if state is not None and state.value == "stopped" and pending == 0 and sorted(stored) == sorted(ledger):
                return ledger
            await asyncio.sleep(0.3)


async def assert_same_as_fresh_page(client: LongClient, session: Browserless, top: int) -> None:
    """Zulip's check, once nothing moves any more: the long-lived client, built from everything it
    applied across faults, equals a page opened now (snapshot + the events after it), both at `top`."""
    await client.reached(top)
    fresh = PageModel()
    url = client.ws_url or client.stack.ws_url
    async with connect(url, additional_headers=session.ws_headers()) as ws, asyncio.timeout(15):
        while fresh.status is None or (fresh.last_seq or 0) < top:
            for frame in split_frame(await ws.recv()):
                fresh.apply(frame)
    assert (client.model.last_seq, fresh.last_seq) == (top, top), "(client, fresh page) != the bot's last seq"
    view, fresh_view = client.model.view(), fresh.view()
    diff = {k: (view[k], fresh_view[k]) for k in fresh_view if view[k] != fresh_view[k]}
    assert not diff, f"client != fresh page at seq {top}: {diff}"


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
