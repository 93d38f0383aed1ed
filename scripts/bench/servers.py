"""The implementations' server processes: started fresh for a scenario, stopped after it."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crypto_bot_ui.serve import APP, Server
from scripts import embedded_redis

if TYPE_CHECKING:
    from scripts.bench.__main__ import Bench

HAPROXY_CFG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
"""The balancer's production configuration (compose.scale.yml mounts it)."""
IMPLS = ("ours", "ours-daphne", "ours-granian", "ours-2", "ours-3", "ours-lb", "floor", "textbook")
"""ours: the production command (Uvicorn); ours-daphne and ours-granian: the same application
under the other servers; ours-2 and ours-3: two and three production web processes, the clients
split between them; ours-lb: two behind HAProxy (deploy/haproxy.cfg's settings); the textbook
bridge; the floor."""
OURS_SERVER: dict[str, Server | None] = {"ours": None, "ours-2": None, "ours-3": None, "ours-lb": None,
                                          "ours-daphne": "daphne", "ours-granian": "granian"}
"""The server each of our variants runs (None: the production default, WEB_SERVER's)."""
PROCESSES = {"ours-2": 2, "ours-3": 3, "ours-lb": 2}
"""Web processes of the scale-out variants (the others run one)."""


def unavailable(impl: str) -> str | None:
    """Why an implementation cannot run on this machine (None: it can)."""
    if impl == "ours-lb" and shutil.which("haproxy") is None:
        return "no haproxy on this machine (Debian: apt-get install haproxy)"
    return None


def wait_port(port: int, timeout: float = 30) -> None:
    """Return once something accepts connections on a loopback port (RuntimeError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Servers:
    """One implementation's running processes and the URLs its clients connect to."""

    procs: list[subprocess.Popen[str]]
    urls: list[str]
    headers: dict[str, str]

    @property
    def pids(self) -> list[int]:
        """The processes' ids (for RSS, CPU and the profiler)."""
        return [p.pid for p in self.procs]


@contextlib.contextmanager
def servers(bench: Bench, impl: str, cookie: str) -> Iterator[Servers]:
    """Start an implementation's processes fresh (no backlog of an earlier scenario), stop them after."""
    procs: list[subprocess.Popen[str]] = []
    headers: dict[str, str] = {}
    ports = [embedded_redis.free_port() for _ in range(PROCESSES.get(impl, 1))]
    try:
        if impl in OURS_SERVER:
            for port in ports:  # each web process holds its own single Redis subscription
                procs.append(bench.start(serve(port, server=OURS_SERVER[impl])))
            urls = [f"ws://127.0.0.1:{port}/ws/dashboard/" for port in ports]
            headers = {"Cookie": f"sessionid={cookie}"}  # and the Origin of the page each client's server serves
            if impl == "ours-lb":  # every client through one address; its CPU counts as the server's
                front = embedded_redis.free_port()
                config = bench.tmp / f"haproxy-{front}.cfg"
                config.write_text(haproxy_config(front, ports))
                procs.append(bench.start(["haproxy", "-db", "-f", str(config)]))
                ports.append(front)
                urls = [f"ws://127.0.0.1:{front}/ws/dashboard/"]
        elif impl == "textbook":
            # Channels' documented setup: Daphne serving the consumers.
            procs.append(bench.start(serve(ports[0], "scripts.bench.textbook:application", server="daphne")))
            procs.append(bench.start([sys.executable, "-m", "scripts.bench.textbook", bench.redis_url,
                                      bench.keys.events_channel], ready="READY"))
            urls = [f"ws://127.0.0.1:{ports[0]}/ws/"]
        elif impl == "floor":
            procs.append(bench.start([sys.executable, "-m", "scripts.bench.floor", "--port", str(ports[0]),
                                      "--redis-url", bench.redis_url, "--channel", bench.keys.events_channel],
                                     ready="READY"))
            urls = [f"ws://127.0.0.1:{ports[0]}/"]
        else:
            raise SystemExit(f"unknown implementation {impl!r}; choose from {', '.join(IMPLS)}")
        for port in ports:
            wait_port(port)
        yield Servers(procs, urls, headers)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def haproxy_config(front: int, backends: list[int]) -> str:
    """deploy/haproxy.cfg's global and defaults (the production tuning), with a frontend on the
    loopback and the backends listed (no Docker DNS here)."""
    production = HAPROXY_CFG.read_text()
    tuning = production[:production.index("\nresolvers ")]
    servers = "\n".join(f"    server web{i} 127.0.0.1:{port}" for i, port in enumerate(backends))
    return (f"{tuning}\n\nfrontend dashboard\n    bind 127.0.0.1:{front}\n    default_backend web\n\n"
            f"backend web\n    balance leastconn\n{servers}\n")


def serve(port: int, app: str = APP, *, server: Server | None = None) -> list[str]:
    """The web server (as every deployment starts it) on a port of the loopback; `server`: another
    than the production one."""
    chosen = [] if server is None else ["--server", server]
    return [sys.executable, "-m", "crypto_bot_ui.serve", "--bind", "127.0.0.1", "--port", str(port), *chosen, app]
