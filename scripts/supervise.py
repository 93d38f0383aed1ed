"""Keep the Procfile's processes running for `make run`: honcho's pieces plus a restart policy.

honcho's `Manager` stops every process as soon as one exits and has no restart option, so a
crashed bot took the dashboard down with it. supervisord would restart, but it wants its own
config file and a daemon, writes each process's output to its own log file instead of one
stream prefixed by name, retries only start-up failures (linear back-off, `startretries`), and
stopping everything on a crash loop would need an event-listener process on top. The policy fits
in this module instead, on honcho's `Printer` (the `time name | line` output), its `Popen` (a
shell in a session of its own, so each process is a process group) and its colours:

- a process that exits, however (an exit code, a crash, `kill -9`), is logged with its code or
  signal and restarted after 1, 2, 4, 8 ... s (capped at 30 s), each pause jittered down to half
  so processes that fell together (Redis gone) do not come back in lockstep;
- a process that ran `stable_after` (30 s: well past start-up, the services are healthy within
  ~10 s) before exiting starts counting afresh; `give_up_after` (5) exits in a row, each sooner,
  is a crash loop (a bad setting, a port taken): retrying would only scroll the cause away, so
  the supervisor says which process and where its output is, stops everything and returns 1.
  Five tries span 7.5-15 s of pauses: long enough to ride out a dependency's restart;
- SIGINT/SIGTERM: SIGTERM to every process group, SIGKILL to what is left after `grace` (5 s),
  so everything is gone within ~6 s (7 s at worst); a second Ctrl-C kills at once. When a process's leader
  exits, the rest of its group is killed before the leader is reaped, so nothing is orphaned.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import queue
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from honcho.colour import get_colours
from honcho.printer import Message, Printer
from honcho.process import Popen

SYSTEM_NAME = "launch"


@dataclass(frozen=True)
class RestartPolicy:
    """When an exited process is restarted, and when its crash loop stops everything."""

    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    give_up_after: int = 5
    stable_after: float = 30.0

    def delay(self, failures: int) -> float:
        """The pause before restart number `failures`: base * 2^(n-1), capped, jittered to 50-100 %."""
        nominal = min(self.backoff_cap, self.backoff_base * 2.0 ** (failures - 1))
        return nominal * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass
class Worker:
    """One Procfile process: its command and its restart bookkeeping."""

    name: str
    cmd: str
    env: dict[str, str] | None
    cwd: str | None
    colour: str
    pid: int | None = None
    """The running process (group leader); None once it is reaped."""
    running: bool = False
    started_at: float = 0.0
    failures: int = 0
    """Exits in a row, each within `stable_after` of its start."""
    restart_at: float | None = None
    starts: int = 0


def describe_exit(code: int) -> str:
    """`exit code 2` or `killed by signal 9, SIGKILL` from a Popen return code."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {-code}, {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def kill_group(pid: int, sig: int) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Supervisor:
    """Run processes, restart them with back-off, stop them all on a crash loop or a signal."""

    def __init__(self, policy: RestartPolicy | None = None, *, grace: float = 5.0, output: IO[str] | None = None):
        self.policy = policy or RestartPolicy()
        self.grace = grace
        self.returncode: int | None = None
        self._printer = Printer(output or sys.stdout, width=len(SYSTEM_NAME))
        self._events: queue.Queue[Any] = queue.Queue()
        self._workers: dict[str, Worker] = {}
        self._colours = get_colours()
        self._lock = threading.Lock()  # held while a leader is reaped, so no signal hits a reused pid
        self._signal: int | None = None
        self._stopping = False
        self._kill_at = 0.0
        self._killed = False

    def add_process(self, name: str, cmd: str, env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        """Register a process (a shell command line, as in a Procfile); `run` starts it."""
        if name in self._workers:
            raise ValueError(f"duplicate process name {name}")
        self._workers[name] = Worker(name, cmd, env, cwd, next(self._colours))
        self._printer.width = max(self._printer.width, len(name))

    def pid(self, name: str) -> int | None:
        """The pid of a process now running, if any."""
        return self._workers[name].pid

    def starts(self, name: str) -> int:
        """How many times a process was started."""
        return self._workers[name].starts

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop everything as on that signal (safe from a signal handler or another thread)."""
        if self._stopping:
            self._kill_at = 0.0  # asked again while stopping: no more grace
        self._signal = signum

    def run(self) -> int:
        """Start every process and supervise until a signal or a crash loop; return the exit code."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda signum, _frame: self.request_stop(signum))
        for worker in self._workers.values():
            self._spawn(worker)
        while True:
            if self._signal is not None and not self._stopping:
                self._say(f"{signal.Signals(self._signal).name} received: stopping everything")
                self._stop_all(128 + self._signal)
            with contextlib.suppress(queue.Empty):
                self._handle(self._events.get(timeout=0.1))
            now = time.monotonic()
            if not self._stopping:
                for worker in self._workers.values():
                    if worker.restart_at is not None and now >= worker.restart_at:
                        self._spawn(worker)
            elif not any(w.running for w in self._workers.values()):
                break
            elif now >= self._kill_at and not self._killed:
                self._killed = True
                self._signal_all(signal.SIGKILL)
            elif now >= self._kill_at + 2:
                self._say("some processes did not stop after SIGKILL; leaving them")
                break
        self._drain()
        return int(self.returncode or 0)

    def _spawn(self, worker: Worker) -> None:
        """Start a worker's process and the thread that watches it."""
        worker.restart_at = None
        worker.starts += 1
        worker.started_at = time.monotonic()
        try:
            popen = Popen(worker.cmd, env=worker.env, cwd=worker.cwd)
        except OSError as exc:
            self._say(f"{worker.name} could not start: {exc}")
            worker.running = True
            self._events.put(Message("stop", 127, self._now(), worker.name, None))
            return
        worker.pid, worker.running = popen.pid, True
        self._say(f"{worker.name} started (pid={popen.pid})")
        threading.Thread(target=self._watch, args=(worker, popen), name=f"watch-{worker.name}", daemon=True).start()

    def _watch(self, worker: Worker, popen: Any) -> None:
        """Relay a process's output; once its leader exits, kill the rest of its group and report."""
        reader = threading.Thread(target=self._pump, args=(worker, popen.stdout), daemon=True)
        reader.start()
        if hasattr(os, "waitid"):  # wait without reaping: the group id stays the leader's meanwhile
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT)
            with self._lock:
                kill_group(popen.pid, signal.SIGKILL)
                code = popen.wait()
                worker.pid = None
        else:  # macOS has no waitid
            code = popen.wait()
            with self._lock:
                worker.pid = None
        reader.join(1.0)
        self._events.put(Message("stop", code, self._now(), worker.name, None))

    def _pump(self, worker: Worker, stdout: IO[bytes]) -> None:
        """Queue each line a process prints, to be written prefixed by its name."""
        with stdout:
            for line in iter(stdout.readline, b""):
                self._events.put(Message("line", line, self._now(), worker.name, worker.colour))

    def _handle(self, msg: Any) -> None:
        """Print a line, or act on a process's exit."""
        if msg.type == "line":
            self._printer.write(msg)
            return
        worker = self._workers[msg.name]
        worker.running = False
        ran = time.monotonic() - worker.started_at
        if self._stopping:
            self._say(f"{worker.name} stopped ({describe_exit(msg.data)})")
            return
        self._say(f"{worker.name} exited ({describe_exit(msg.data)}) after {ran:.1f} s")
        worker.failures = 1 if ran >= self.policy.stable_after else worker.failures + 1
        if worker.failures >= self.policy.give_up_after:
            self._say(
                f"{worker.name} keeps crashing: {worker.failures} exits in a row, each within "
                f"{self.policy.stable_after:.0f} s of starting. Giving up and stopping everything. "
                f"Its log is in this launcher's own output, where every process prints: "
                f"the lines prefixed '{worker.name}' above."
            )
            self._stop_all(1)
            return
        delay = self.policy.delay(worker.failures)
        worker.restart_at = time.monotonic() + delay
        self._say(
            f"restarting {worker.name} in {delay:.1f} s "
            f"(quick exit {worker.failures} of {self.policy.give_up_after} before giving up)"
        )

    def _stop_all(self, returncode: int) -> None:
        """Begin stopping: SIGTERM to every process group now, SIGKILL after the grace."""
        self._stopping = True
        if self.returncode is None:
            self.returncode = returncode
        self._kill_at = time.monotonic() + self.grace
        for worker in self._workers.values():
            worker.restart_at = None
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, sig: int) -> None:
        """Send a signal to every running process group."""
        with self._lock:
            for worker in self._workers.values():
                if worker.pid is not None:
                    self._say(f"sending {signal.Signals(sig).name} to {worker.name} (pid {worker.pid})")
                    kill_group(worker.pid, sig)

    def _drain(self) -> None:
        """Print the lines still queued when the loop ends."""
        while True:
            try:
                msg = self._events.get_nowait()
            except queue.Empty:
                return
            if msg.type == "line":
                self._printer.write(msg)

    def _say(self, text: str) -> None:
        """Print one of the supervisor's own lines."""
        self._printer.write(Message("line", text + "\n", self._now(), SYSTEM_NAME, None))

    @staticmethod
    def _now() -> datetime.datetime:
        """The time stamp printed in front of a line."""
        return datetime.datetime.now()
