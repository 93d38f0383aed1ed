"""`make run`'s launcher on a machine without Redis: embedded Redis, all services, a killed worker
restarted, a crash loop stopping everything with a message, clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from scripts.embedded_redis import free_port
from tests.stack import ROOT, Browserless, alive, descendants, wait_for

pytestmark = pytest.mark.e2e


def launcher_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A launcher on its own port, var dir, database and key prefix, with no Redis where it looks."""
    return {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "DATABASE_URL": "",
        "VAR_DIR": str(tmp_path / "var"),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "STATIC_ROOT": str(tmp_path / "static"),  # the launcher collects them there; login then names them
        "SECRET_KEY": "launch-" + uuid.uuid4().hex,
        "WEB_PORT": str(free_port()),
        "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "ADMIN_USERNAME": "launch-admin",
        "ADMIN_PASSWORD": "",
        **extra,
    }


def started_pids(output: str, name: str) -> list[int]:
    """The pids the launcher reported for a process, in start order."""
    return [int(pid) for pid in re.findall(rf"\| {name} started \(pid=(\d+)\)", output)]


def stop_and_reap(proc: subprocess.Popen[bytes]) -> None:
    """Leave nothing behind, whatever the test did (a failed assertion included)."""
    # Read before the launcher dies: its children are re-parented then, out of its tree.
    children = descendants(proc.pid)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid in children | descendants(proc.pid):
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_launcher_runs_everything_restarts_a_killed_worker_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = launcher_env(tmp_path)
    log_path = tmp_path / "launch.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.launch"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        session = Browserless(f"http://127.0.0.1:{env['WEB_PORT']}")

        def bot_running() -> bool:
            status, body = session.get("/api/health")
            report = json.loads(body) if status == 200 else {}
            return report.get("bot") == "running" and report.get("recorder") == "ok"

        wait_for(bot_running, 90, "the launched stack to report the bot running")
        output = log_path.read_text()
        assert "starting an embedded one" in output
        password = output.split("with password: ", 1)[1].split()[0]
        session.login("launch-admin", password)

        # kill -9 the bot: logged with its signal, started again (a new pid that runs and trades on).
        [bot] = started_pids(output, "bot")
        os.kill(bot, signal.SIGKILL)
        new_bot = wait_for(lambda: started_pids(log_path.read_text(), "bot")[1:], 15, "the bot restarted")[0]
        assert new_bot != bot and alive(new_bot)
        output = log_path.read_text()
        assert "bot exited (killed by signal 9, SIGKILL)" in output
        assert re.search(r"restarting bot in \d\.\d s", output)
        wait_for(lambda: len(re.findall(r"bot +\|.*bot\.runner: starting:", log_path.read_text())) == 2, 30,
                 "the new bot to start trading")
        wait_for(bot_running, 30, "the restarted bot to report running")

        # kill -9 the web server: a new one serves the same port; the others are left alone.
        [web] = started_pids(output, "web")
        os.kill(web, signal.SIGKILL)
        wait_for(lambda: started_pids(log_path.read_text(), "web")[1:], 15, "the web server restarted")
        wait_for(bot_running, 30, "the restarted web server to answer")
        Browserless(session.base_url).login("launch-admin", password)
        assert started_pids(log_path.read_text(), "bot") == [bot, new_bot]
        assert started_pids(log_path.read_text(), "recorder")[1:] == []

        children = descendants(proc.pid)
        assert len(children) >= 4, children  # redis, bot, recorder, web
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(10) == 130
        assert time.monotonic() - started < 10
        wait_for(lambda: not [pid for pid in children if alive(pid)], 2, "no orphaned children")
        assert "SIGINT received: stopping everything" in log_path.read_text()
    finally:
        stop_and_reap(proc)


def test_a_worker_in_a_crash_loop_stops_the_launcher_with_a_message(tmp_path: Path) -> None:
    env = launcher_env(tmp_path, BROKER="bogus")  # the bot refuses it at once, every time
    log_path = tmp_path / "launch.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.launch"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        assert proc.wait(120) == 1  # 5 exits, 7.5-15 s of back-off after start-up
        output = log_path.read_text()
        assert output.count("bot exited (exit code 2)") == 5
        assert re.search(r"bot +\| configuration error: BROKER", output)
        assert "bot keeps crashing: 5 exits in a row, each within 30 s of starting" in output
        assert "Its log is in this launcher's own output" in output
        for name in ("redis", "recorder", "web"):
            assert f"{name} stopped" in output, name
        pids = [pid for name in ("redis", "recorder", "web") for pid in started_pids(output, name)]
        assert len(pids) == 3 and not [pid for pid in pids if alive(pid)]
    finally:
        stop_and_reap(proc)
