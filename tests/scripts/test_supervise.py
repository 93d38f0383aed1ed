"""The launcher's supervisor with small real child processes: restart after kill -9, back-off,
crash-loop give-up, a stable run counting afresh, Ctrl-C/SIGTERM within 10 s, no orphans."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.embedded_redis import free_port
from scripts.supervise import RestartPolicy, Supervisor, describe_exit
from tests.stack import ROOT, alive, descendants, wait_for

FAST = RestartPolicy(backoff_base=0.05, backoff_cap=0.2, give_up_after=5, stable_after=30)


@contextmanager
def supervising(supervisor: Supervisor) -> Iterator[dict[str, int]]:
    """Run a supervisor in a thread; on exit stop it (as Ctrl-C would) and check it ended."""
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(rc=supervisor.run()), daemon=True)
    thread.start()
    try:
        yield result
    finally:
        supervisor.request_stop(signal.SIGINT)
        thread.join(10)
        assert not thread.is_alive(), "the supervisor did not stop within 10 s"


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
            return True
    except OSError:
        return False


def test_the_backoff_doubles_is_capped_and_jittered_down_to_half() -> None:
    policy = RestartPolicy(backoff_base=1, backoff_cap=30)
    for failures, nominal in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (9, 30)):
        delays = [policy.delay(failures) for _ in range(200)]
        assert all(nominal / 2 <= d <= nominal for d in delays), (failures, min(delays), max(delays))
        assert max(delays) - min(delays) > nominal / 10  # jittered, not lockstep
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "killed by signal 9, SIGKILL"


def test_a_killed_server_is_restarted_with_a_new_pid_and_serves_again() -> None:
    port = free_port()
    out = io.StringIO()
    supervisor = Supervisor(FAST, output=out)
    supervisor.add_process("web", f"exec {sys.executable} -m http.server --bind 127.0.0.1 {port}", cwd=str(ROOT))
    supervisor.add_process("idle", "exec sleep 300")
    with supervising(supervisor) as result:
        wait_for(lambda: serving(port), 10, "the server")
        first = supervisor.pid("web")
        idle = supervisor.pid("idle")
        assert first is not None and idle is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: supervisor.pid("web") not in (None, first), 10, "a new server process")
        wait_for(lambda: serving(port), 10, "the restarted server to serve")
        second = supervisor.pid("web")
        assert second is not None and alive(second) and not alive(first)
        assert supervisor.pid("idle") == idle and supervisor.starts("idle") == 1  # the others are left alone
    assert result["rc"] == 130
    log = out.getvalue()
    assert "web exited (killed by signal 9, SIGKILL) after" in log
    assert re.search(r"restarting web in \d\.\d s \(quick exit 1 of 5", log), log
    assert f"web started (pid={second})" in log
    assert not alive(second) and not alive(idle)


def test_a_crash_loop_stops_everything_and_names_the_process() -> None:
    out = io.StringIO()
    supervisor = Supervisor(FAST, output=out)
    supervisor.add_process("crashy", "echo 'bad setting: FOO'; exit 3")
    supervisor.add_process("idle", "exec sleep 300")
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(rc=supervisor.run()), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), out.getvalue()
    assert result["rc"] == 1
    assert supervisor.starts("crashy") == 5
    log = out.getvalue()
    assert log.count("crashy exited (exit code 3)") == 5
    assert re.search(r"crashy +\| bad setting: FOO", log)  # its own output, prefixed by its name
    assert "crashy keeps crashing: 5 exits in a row, each within 30 s of starting" in log
    assert "Its log is in this launcher's own output" in log and "prefixed 'crashy'" in log
    assert "idle stopped (killed by signal 15, SIGTERM)" in log


def test_a_process_that_ran_a_while_starts_counting_afresh() -> None:
    steady = RestartPolicy(backoff_base=0.05, backoff_cap=0.1, give_up_after=2, stable_after=0.3)
    out = io.StringIO()
    supervisor = Supervisor(steady, output=out)
    supervisor.add_process("flaky", "sleep 0.5; exit 1")  # exits, but only after running past stable_after
    with supervising(supervisor):
        wait_for(lambda: supervisor.starts("flaky") >= 5, 15, "five runs of a process that exits after a while")
    assert "keeps crashing" not in out.getvalue()
    assert out.getvalue().count("quick exit 1 of 2") >= 4  # each exit counted as the first


def test_a_leaders_leftover_children_die_with_it() -> None:
    out = io.StringIO()
    supervisor = Supervisor(FAST, output=out)
    supervisor.add_process("parent", "sleep 301 & echo child=$!; exec sleep 300")
    with supervising(supervisor):
        match = wait_for(lambda: re.search(r"child=(\d+)", out.getvalue()), 10, "the child's pid")
        child = int(match.group(1))
        leader = supervisor.pid("parent")
        assert leader is not None and alive(child)
        os.kill(leader, signal.SIGKILL)
        wait_for(lambda: not alive(child), 5, "the leader's child to be killed with it")
        wait_for(lambda: supervisor.starts("parent") == 2, 5, "the restart")


DRIVER = """
import sys
from scripts.supervise import Supervisor
supervisor = Supervisor()
supervisor.add_process("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done")
supervisor.add_process("polite", "exec sleep 300")
sys.exit(supervisor.run())
"""


@pytest.mark.parametrize(("sig", "rc"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_everything_within_10_s_even_what_ignores_sigterm(sig: int, rc: int, tmp_path: Path) -> None:
    log_path = tmp_path / "supervisor.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "stubborn | ready" in log_path.read_text(), 10, "the processes to start")
        children = descendants(proc.pid)
        assert len(children) >= 2, children
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(10) == rc
        assert time.monotonic() - started < 10
        wait_for(lambda: not [pid for pid in children if alive(pid)], 2, "no orphaned children")
        output = log_path.read_text()
        assert f"{signal.Signals(sig).name} received: stopping everything" in output
        assert "sending SIGKILL to stubborn" in output  # the grace ran out for the one ignoring SIGTERM
        assert "keeps crashing" not in output and "restarting" not in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
