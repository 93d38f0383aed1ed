"""The runner end to end against a real Redis, the default-settings trade timing, and `python -m bot`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.journal import Journal
from bot.runner import main
from bot_api.command_bus import CommandBus
from bot_api.commands import BotCommand, RequestStatus, StopBot
from bot_api.events import BotState, StatusEvent, parse_event
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from tests.bot.in_process import WAIT, Collector, of_type, running

ROOT = Path(__file__).resolve().parents[2]


def fast_settings(redis_url: str, redis_prefix: str) -> BotSettings:
    return BotSettings.from_env(
        {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix, "TICK_INTERVAL": "0.05", "STRATEGY_TIMEFRAME": "0"}
    )


async def test_bot_publishes_trades_obeys_stop_and_resumes_seq(redis_url: str, redis_prefix: str) -> None:
    settings = fast_settings(redis_url, redis_prefix)
    keys = settings.keys
    redis = connect(redis_url)
    try:
        async with Collector(redis_url, keys) as events:
            async with running(settings):
                status = await events.wait_for(of_type("status"))
                assert isinstance(status, StatusEvent)
                assert status.data.state is BotState.RUNNING
                await events.wait_for(of_type("price_update"), count=4)
                trade = await events.wait_for(of_type("trade_executed"))
                assert trade.bot == "main"
                assert await redis.exists(keys.heartbeat_key)

                async with redis.pipeline(transaction=True) as pipe:  # one consistent read
                    pipe.get(keys.status_key).get(keys.seq_key).xrevrange(keys.events_stream, count=1000)
                    stored_status, stored_seq, recent = await pipe.execute()
                snapshot = parse_event(stored_status)
                assert isinstance(snapshot, StatusEvent) and snapshot.seq is not None
                # The snapshot may trail the events a little; the stream holds all that follow it.
                top = int(stored_seq)
                assert snapshot.seq <= top
                after = sorted(int(entry_id.split(b"-")[0]) for entry_id, _ in recent)
                assert [seq for seq in after if seq > snapshot.seq] == list(range(snapshot.seq + 1, top + 1))

                await CommandBus(redis, keys).send(
                    BotCommand.create(
                        action=StopBot(id="stop-1"), bot="main", issued_by="tester"
                    )
                )
                change = await events.wait_for(of_type("status_change"))
                assert change.data.state is BotState.STOPPED  # type: ignore[union-attr]
                control = await events.wait_for(lambda e: e.type == "bot_control")
                assert control.data.ref == "stop-1"  # type: ignore[union-attr]
                assert control.data.ok is True  # type: ignore[union-attr]

                # 40 rounds (2 s of ticks) after the answer: prices flow, no trades.
                after = events.events.index(control) + 1
                await events.wait_for(of_type("price_update"), start=after, count=80)
                assert [e for e in events.events[after:] if e.type == "trade_executed"] == []

            assert not await redis.exists(keys.heartbeat_key)
            seqs = [e.seq for e in events.events if e.seq is not None]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # none lost, none reordered
            last = max(seqs)
            assert int(await redis.get(keys.seq_key)) == last

            before = parse_event(await redis.get(keys.status_key))  # the state it stopped in
            assert isinstance(before, StatusEvent)  # may trail by a few prices: no figure below moves with one
            mark = len(events.events)
            async with running(settings):
                restarted = await events.wait_for(of_type("status"), start=mark)
                assert restarted.seq == last + 1
                assert await redis.exists(keys.heartbeat_key)
                # The restarted bot is the same bot: its ledger, portfolio and stopped state.
                assert isinstance(restarted, StatusEvent)
                assert restarted.data.state is BotState.STOPPED  # AUTO_START does not override a stop
                assert restarted.data.trade_count == before.data.trade_count >= 1
                assert restarted.data.cash == before.data.cash
                assert restarted.data.pnl.realized == before.data.pnl.realized
                assert restarted.data.recent_trades == before.data.recent_trades
            assert not await redis.exists(keys.heartbeat_key)
    finally:
        await redis.aclose()


async def test_commands_sent_while_the_bot_is_down_are_handled_after_restart(
    redis_url: str, redis_prefix: str
) -> None:
    settings = fast_settings(redis_url, redis_prefix)
    redis = connect(redis_url)
    try:
        async with Collector(redis_url, settings.keys) as events:
            async with running(settings):
                await events.wait_for(of_type("status"))
                # Wait for a full round trip so the command cursor is saved.
                await CommandBus(redis, settings.keys).send(
                    BotCommand.create(action=RequestStatus(id="ping"), bot="main",
                                      issued_by=None)
                )  # fmt: skip
                await events.wait_for(lambda e: e.type == "bot_control")
            await CommandBus(redis, settings.keys).send(
                BotCommand.create(
                    action=StopBot(id="while-down"), bot="main", issued_by="ops",
                    ttl=timedelta(seconds=30),
                )
            )  # fmt: skip
            mark = len(events.events)
            async with running(settings):
                control = await events.wait_for(lambda e: e.type == "bot_control", start=mark)
                assert control.data.ref == "while-down"  # type: ignore[union-attr]
                assert control.data.ok is True  # type: ignore[union-attr]
                change = await events.wait_for(of_type("status_change"), start=mark)
                assert change.data.state is BotState.STOPPED  # type: ignore[union-attr]
    finally:
        await redis.aclose()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


class LogWaiter(logging.Handler):
    """Sets an asyncio.Event when a log message containing `text` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


@contextlib.contextmanager
def log_waiter(logger_name: str, text: str) -> Iterator[LogWaiter]:
    waiter = LogWaiter(text)
    log = logging.getLogger(logger_name)
    old_level = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(waiter)
    try:
        yield waiter
    finally:
        log.removeHandler(waiter)
        log.setLevel(old_level)


async def test_trades_on_without_redis_and_stops_promptly() -> None:
    settings = BotSettings.from_env({"REDIS_URL": closed_port_url(), "TICK_INTERVAL": "0.01",
                                     "STRATEGY_TIMEFRAME": "0"})
    with (
        log_waiter("bot.runner", "starting from the journal") as gave_up,
        log_waiter("bot.engine", "crossed above") as traded,
    ):
        async with running(settings):  # requires run() to return within 2 s of the stop
            async with asyncio.timeout(WAIT):
                await gave_up.seen.wait()
                await traded.seen.wait()  # the market loop trades although nothing can be published
    journal = Journal(settings.journal_path)
    try:
        assert journal.ledger(), "the trade is in the bot's own ledger"
        assert journal.pending_count() > 0, "its events wait in the outbox for Redis"
    finally:
        journal.close()


def test_main_reports_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEE_RATE", "-1")
    assert main() == 2
    assert capsys.readouterr().err == (
        "configuration error: FEE_RATE: must be a number at least 0 and below 0.1, got '-1'\n")


def test_python_m_bot_exits_2_on_invalid_setting() -> None:
    env = {**os.environ, "FEE_RATE": "-1", "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "FEE_RATE" in proc.stderr
    assert proc.stderr.startswith("configuration error:")


async def test_python_m_bot_stops_cleanly_on_sigterm(redis_url: str, redis_prefix: str) -> None:
    keys = RedisKeys(prefix=redis_prefix, bot_id="main")
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix, "TICK_INTERVAL": "0.05"}
    redis = connect(redis_url)
    try:
        async with Collector(redis_url, keys) as events:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                await events.wait_for(of_type("status"))
                await events.wait_for(of_type("price_update"))
                assert await redis.exists(keys.heartbeat_key)
                proc.send_signal(signal.SIGTERM)
                async with asyncio.timeout(5):
                    _, stderr = await proc.communicate()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        assert proc.returncode == 0, stderr.decode()
        log = stderr.decode()
        assert "starting: bot=main" in log
        assert log.rstrip().endswith("stopped")
        assert not await redis.exists(keys.heartbeat_key)
    finally:
        await redis.aclose()
