"""The notifier as users run it (the Procfile's process), with the real bot trading fast, a local
webhook and the fake Telegram Bot API: killed during a burst (kill -9 anywhere, or exactly in each
of its two crash windows), then restarted, it tells every trade exactly once on each channel (a
repeat only where it says it may be one)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from bot_api.command_bus import CommandBus
from bot_api.commands import BotCommand, StartBot
from bot_api.events import Side, TradeData
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect as redis_connect
from crypto_bot_ui.notify.channels import REPEAT_NOTE
from crypto_bot_ui.notify.compose import trade_line
from tests.e2e.faults import FAST, journal_of, kill9, settle, stop_bot
from tests.stack import Stack, delete_prefix, procfile_commands, running_stack, wait_for
from tests.telegram_fake import FakeTelegram
from tests.webhook_receiver import Received, webhook_receiver

pytestmark = [pytest.mark.timeout(240)]

TOKEN = "7000000009:AAe2e-notifier-token"
CHAT = 4242


@pytest.fixture
def channels() -> Iterator[tuple[FakeTelegram, str, Received]]:
    telegram = FakeTelegram(TOKEN, per_chat_interval=1.0).start_in_thread()
    try:
        with webhook_receiver() as (url, received):
            yield telegram, url, received
    finally:
        telegram.stop()


async def _start_bot(stack: Stack) -> None:
    client = redis_connect(stack.env["REDIS_URL"])
    try:
        cmd = BotCommand.create(action=StartBot(id=f"start-{uuid.uuid4().hex[:6]}"), bot="main", issued_by="e2e")
        await CommandBus(client, RedisKeys(prefix=stack.env["REDIS_PREFIX"])).send(cmd)
    finally:
        await client.aclose()


def _grouped(stack: Stack) -> bool:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
        return any(g["name"] == b"notifier" for g in client.xinfo_groups(keys.trades_stream))
    except redis.ResponseError:
        return False
    finally:
        client.close()


def trade_ids(stack: Stack) -> list[Any]:
    journal = journal_of(stack)
    try:
        return journal.trade_ids()
    finally:
        journal.close()


def _telegram_lines(texts: list[str]) -> tuple[Counter[str], Counter[str]]:
    """(every trade line told in the chat, those in messages marked as possible repeats), each line
    without its bot's prefix, as `trade_line` writes it."""
    told: Counter[str] = Counter()
    repeats: Counter[str] = Counter()
    for text in texts:
        first, *rest = text.splitlines()
        digest = re.match(r"(\d+) trades from main", first)
        lines = [line.removeprefix("• main: ") for line in rest if line.startswith("• ")] if digest else [
            first.removeprefix("main: ")]
        if digest:
            assert len(lines) == int(digest.group(1)), text
        told.update(lines)
        if REPEAT_NOTE in text:
            repeats.update(lines)
    return told, repeats


def _ledger_lines(stack: Stack) -> Counter[str]:
    """Each stored trade as its notification's line (the database holds the ledger once settled)."""
    url = stack.env["DATABASE_URL"]
    query = "SELECT side, qty, symbol, price, realized_pnl FROM trades_trade WHERE bot_id = 'main'"
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            rows = [tuple(str(v) for v in row) for row in db.execute(query)]
    else:
        with psycopg.connect(url) as db:
            rows = [tuple(str(v) for v in row) for row in db.execute(query)]
    return Counter(trade_line(TradeData(
        trade_id="x", symbol=symbol, side=Side(side), qty=Decimal(qty), price=Decimal(price), quote_qty=Decimal(0),
        fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(realized), executed_at=datetime.now(UTC)))
        for side, qty, symbol, price, realized in rows)


def _check_told_once(stack: Stack, ledger: list[str], received: Received, telegram: FakeTelegram,
                     *, repeats_allowed: int) -> str:
    """Every ledger trade posted and in the chat; any second telling marked as a possible repeat."""
    posted = Counter(p["data"]["trade"]["trade_id"] for p in received.posts)
    assert set(posted) == set(ledger), "the webhook was told exactly the ledger's trades"
    seen: set[str] = set()
    for post in received.posts:  # a trade posted again was in flight at the kill, and says so
        trade_id = post["data"]["trade"]["trade_id"]
        assert trade_id not in seen or post["repeat"], f"trade {trade_id} posted twice, unmarked"
        seen.add(trade_id)
    assert sum(posted.values()) - len(posted) <= repeats_allowed
    told, repeats = _telegram_lines([m["text"] for m in telegram.sent])
    expected = _ledger_lines(stack)
    assert told - repeats <= expected <= told, (told - expected, expected - told)
    assert telegram.throttled == 0
    return (f"{len(ledger)} trades; webhook {sum(posted.values())} posts; telegram {len(telegram.sent)} messages "
            f"carrying {sum(told.values())} trade lines ({sum(repeats.values())} marked as possible repeats)")


async def _stop_and_check(stack: Stack, received: Received, telegram: FakeTelegram,
                          *, repeats_allowed: int) -> tuple[list[str], str]:
    """Stop the bot, wait until every trade of its ledger reached both channels, check each was told
    once; the ledger and a summary."""
    await stop_bot(stack)
    ledger = await settle(stack)
    await asyncio.to_thread(wait_for, lambda: len({p["data"]["trade"]["trade_id"] for p in received.posts})
                            >= len(ledger), 60, "every trade posted")
    await asyncio.to_thread(
        wait_for, lambda: _telegram_lines([m["text"] for m in telegram.sent])[0] >= _ledger_lines(stack),
        90, "every trade in Telegram")
    return ledger, _check_told_once(stack, ledger, received, telegram, repeats_allowed=repeats_allowed)


@pytest.mark.parametrize(("crash", "repeats_allowed"), [
    # Wherever it lands: at most the one message in flight is told again, marked. Also on PostgreSQL.
    pytest.param("kill-9", 1, marks=pytest.mark.pg),
    ("after-commit", 0),  # committed, not acknowledged: read again, nothing new made, nothing repeated
    ("after-send", 1),  # a channel took it, not noted: sent again, marked as a possible repeat
])
async def test_a_notifier_killed_during_a_burst_then_restarted_tells_every_trade_once(
        redis_url: str, tmp_path: Path, channels: tuple[FakeTelegram, str, Received], crash: str,
        repeats_allowed: int) -> None:
    telegram, url, received = channels
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    env = {**FAST, "AUTO_START": "false", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api_url,
           "TELEGRAM_CHAT_IDS": str(CHAT), "TELEGRAM_KINDS": "trade", "NOTIFY_WEBHOOK_URL": url,
           "NOTIFY_WEBHOOK_KINDS": "trade", "NOTIFIER_NAME": f"notifier-{prefix}"}
    if crash != "kill-9":
        env["NOTIFIER_CRASH_AT"] = f"{crash}:{tmp_path / 'crashed'}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path,
                           services=("bot", "recorder", "web", "notifier"), **env) as stack:
            await asyncio.to_thread(wait_for, lambda: _grouped(stack), 30, "the notifier's groups")
            await _start_bot(stack)
            if crash == "kill-9":
                await asyncio.to_thread(received.wait_posts, 3, 30)  # trading, and told
                kill9(stack, "notifier")
            else:  # it crashes by itself at the armed point, the first time it gets there
                await asyncio.to_thread(wait_for, lambda: stack.processes["notifier"].poll() is not None, 30,
                                        f"the crash at {crash}")
                stack.processes.pop("notifier")
            killed_at = len(received.posts)
            await asyncio.to_thread(wait_for, lambda: len(trade_ids(stack)) >= killed_at + 10, 30,
                                    "trades while the notifier is dead")
            stack.start("notifier")
            await asyncio.to_thread(wait_for, lambda: len(received.posts) > killed_at + 5, 30, "the notifier back")
            assert crash == "kill-9" or (tmp_path / "crashed").exists()
            _, summary = await _stop_and_check(stack, received, telegram, repeats_allowed=repeats_allowed)
            log = stack.log("notifier")
    finally:
        delete_prefix(redis_url, prefix)
    assert TOKEN not in log and url not in log, "a secret in the notifier's log"
    print(f"\n  {crash}: {summary}")


def _holder(stack: Stack, job: str) -> str | None:
    """Which notifier holds a job's lease now (the database says)."""
    url = stack.env["DATABASE_URL"]
    query = "SELECT holder FROM notify_lease WHERE name = "
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            row = db.execute(query + "?", (job,)).fetchone()
    else:
        with psycopg.connect(url) as db:
            row = db.execute(query + "%s", (job,)).fetchone()
    return row[0] if row else None


@pytest.mark.pg
async def test_two_notifiers_side_by_side_one_killed_tell_every_trade_once_in_order(
        redis_url: str, tmp_path: Path, channels: tuple[FakeTelegram, str, Received]) -> None:
    telegram, url, received = channels
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    env = {**FAST, "AUTO_START": "false", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api_url,
           "TELEGRAM_CHAT_IDS": str(CHAT), "TELEGRAM_KINDS": "trade", "NOTIFY_WEBHOOK_URL": url,
           "NOTIFY_WEBHOOK_KINDS": "trade", "NOTIFIER_NAME": f"n1-{prefix}", "NOTIFIER_CLAIM_IDLE": "2"}
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path,
                           services=("bot", "recorder", "web", "notifier"), **env) as stack:
            stack.start("notifier2", procfile_commands()["notifier"], NOTIFIER_NAME=f"n2-{prefix}")
            await asyncio.to_thread(wait_for, lambda: _grouped(stack), 30, "the notifiers' groups")
            await _start_bot(stack)
            await asyncio.to_thread(received.wait_posts, 3, 30)
            # Kill the one taking the bot's entries: the other takes its jobs over once their leases
            # lapse, the entries it had read first.
            taker = await asyncio.to_thread(wait_for, lambda: _holder(stack, "intake:main"), 10, "the intake's holder")
            kill9(stack, "notifier" if taker == f"n1-{prefix}" else "notifier2")
            survivor = f"n2-{prefix}" if taker == f"n1-{prefix}" else f"n1-{prefix}"
            killed_at = len(received.posts)
            await asyncio.to_thread(wait_for, lambda: len(received.posts) > killed_at + 5, 90, "the survivor sending")
            ledger, summary = await _stop_and_check(stack, received, telegram, repeats_allowed=1)
            # One sender at a time: the webhook got the trades in the order they happened.
            first_posts = list(dict.fromkeys(p["data"]["trade"]["trade_id"] for p in received.posts))
            assert first_posts == ledger, "the webhook's trades out of order"
            # And one poller of the bot token: Telegram never had to end a second long poll.
            assert telegram.conflicts == 0, f"{telegram.conflicts} getUpdates conflicts: two notifiers polled"
            assert _holder(stack, "intake:main") == survivor and _holder(stack, "webhook") == survivor
    finally:
        delete_prefix(redis_url, prefix)
    print(f"\n  two notifiers, one killed: {summary}")
