"""`make run`'s launcher on a machine without Redis: embedded Redis, all services, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from scripts.embedded_redis import free_port
from tests.stack import ROOT, Browserless, descendants, wait_for

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


def test_launcher_runs_everything_with_embedded_redis_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "DATABASE_URL": "",
        "VAR_DIR": str(tmp_path / "var"),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "STATIC_ROOT": str(tmp_path / "static"),  # the launcher collects them there; login then names them
        "SECRET_KEY": "launch-" + uuid.uuid4().hex,
        "WEB_PORT": str(port),
        "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "ADMIN_USERNAME": "launch-admin",
        "ADMIN_PASSWORD": "",
    }
    log = (tmp_path / "launch.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.launch"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        session = Browserless(f"http://127.0.0.1:{port}")

        def bot_running() -> bool:
            status, body = session.get("/api/health")
            report = json.loads(body) if status == 200 else {}
            return report.get("bot") == "running" and report.get("recorder") == "ok"

        wait_for(bot_running, 90, "the launched stack to report the bot running")
        output = (tmp_path / "launch.log").read_text()
        assert "starting an embedded one" in output
        password = output.split("with password: ", 1)[1].split()[0]
        session.login("launch-admin", password)
        children = descendants(proc.pid)
        assert len(children) >= 4, children  # redis, bot, recorder, web (and their shells)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert time.monotonic() - started < 10
        wait_for(lambda: not [pid for pid in children if alive(pid)], 2, "no orphaned children")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
