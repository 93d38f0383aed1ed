"""Start the real services (bot, recorder, web server) as child processes for end-to-end tests."""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from honcho.environ import parse_procfile

from bot_api.redis_conn import RedisTarget
from bot_api.settings import CommonSettings
from scripts.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USER = "e2e-admin"
ADMIN_PASSWORD = "e2e-Pass-4-tests!"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll a condition until it is truthy (or fail naming `what`); returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def database_url(tmp: Path) -> Iterator[str]:
    """A fresh database for one stack: PostgreSQL when DATABASE_URL is set, else SQLite."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp / 'e2e.sqlite3'}"
        return
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    """Running services and what a test needs to talk to them."""

    env: dict[str, str]
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    @property
    def ws_url(self) -> str:
        """The dashboard socket URL."""
        return f"ws://127.0.0.1:{self.env['WEB_PORT']}/ws/dashboard/"

    def manage(self, *args: str) -> str:
        """Run a manage.py command with the stack's environment; return its stdout."""
        out = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True, timeout=120,
        )
        return out.stdout

    def start(self, name: str, command: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        """Start one Procfile process (or `command`) with output to a log file; `env` adds to the
        stack's environment (a second bot: `start("bot-eth", procfile_commands()["bot"], BOT_ID="eth")`)."""
        command = command or procfile_commands()[name]
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S602 - the Procfile line, run as honcho runs it
            command, shell=True, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        return proc

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal a process group and wait for it; return the exit code."""
        proc = self.processes.pop(name)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return int(proc.returncode)

    def log(self, name: str) -> str:
        """Everything a process printed so far."""
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def health(self) -> dict[str, Any] | None:
        """The /api/health JSON, or None while the server does not answer."""
        import json

        try:
            with urllib.request.urlopen(f"{self.base_url}/api/health", timeout=2) as resp:  # noqa: S310
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))
        except OSError:
            return None

    def stop_all(self) -> None:
        """Stop every process still running."""
        for name in list(self.processes):
            self.stop(name)


def redis_target(stack: Stack) -> RedisTarget:
    """Where the stack's processes find Redis (its URL, or the master its Sentinels name)."""
    return CommonSettings.read(stack.env).redis


def delete_prefix(redis_url: str, prefix: str) -> None:
    """Delete every Redis key a test created under its own prefix."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    finally:
        client.close()


def procfile_commands() -> dict[str, str]:
    """The Procfile's process commands (the same entry points `make run` uses)."""
    return dict(parse_procfile((ROOT / "Procfile").read_text()).processes)


@functools.cache
def collected_static() -> Path:
    """A STATIC_ROOT that `manage.py collectstatic` filled, once per test run: hashing and compressing
    take seconds, and a run of its own never writes into files another run's servers are reading."""
    base = Path(tempfile.mkdtemp(prefix="cryptobot-static-"))
    atexit.register(shutil.rmtree, base, True)
    env = {**os.environ, "STATIC_ROOT": str(base / "static"), "VAR_DIR": str(base / "var"),
           "SECRET_KEY": "collectstatic-" + uuid.uuid4().hex}
    done = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"collectstatic failed:\n{done.stdout}{done.stderr}")
    return base / "static"


def stack_env(*, redis_url: str, prefix: str, db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a test stack: its own port, key prefix, database and var dir."""
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix,
            "DATABASE_URL": db_url,
            "VAR_DIR": str(tmp / "var"),
            "STATIC_ROOT": str(collected_static()),
            "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(free_port()),
            "ADMIN_USERNAME": ADMIN_USER,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "RECORDER_NAME": f"rec-{prefix}",
            "PYTHONUNBUFFERED": "1",
            # The strategy on every price, as the tests' trades within seconds need (the default
            # decides once a minute); a test may still set its own.
            "STRATEGY_TIMEFRAME": "0",
        }
    )
    env.update(extra)
    return env


@contextmanager
def running_stack(
    *, redis_url: str, prefix: str, tmp: Path, services: tuple[str, ...] = ("bot", "recorder", "web"), **extra: str
) -> Iterator[Stack]:
    """Migrate, create the admin, start the services and wait until they are healthy (static files
    come collected, as collectstatic leaves them for `make run` and the Docker image)."""
    with database_url(tmp) as db_url:
        stack = Stack(env=stack_env(redis_url=redis_url, prefix=prefix, db_url=db_url, tmp=tmp, **extra), tmp=tmp)
        stack.manage("migrate", "--noinput")
        stack.manage("ensure_admin")
        try:
            for name in services:
                stack.start(name)
            if "web" in services:
                wait_for(lambda: stack.health(), 30, "the web server to answer /api/health")
            if "bot" in services:
                wait_for(lambda: (stack.health() or {}).get("bot") in {"running", "stopped"}, 30, "the bot")
            yield stack
        finally:
            stack.stop_all()


class Browserless:
    """An HTTP session (cookies, CSRF) for logging in through the real login form."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        """GET a page; return (status, body)."""
        try:
            with self.opener.open(self.base_url + path, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except OSError:
            return 0, ""  # not listening (yet)

    def login(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        """Log in through /accounts/login/ exactly as a browser would (CSRF token included)."""
        status, page = self.get("/accounts/login/")
        assert status == 200, status
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "login form has no CSRF token"
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1), "next": "/"}
        ).encode()
        req = urllib.request.Request(  # noqa: S310 - loopback
            self.base_url + "/accounts/login/", data=body, headers={"Referer": self.base_url + "/accounts/login/"}
        )
        with self.opener.open(req, timeout=10) as resp:
            # Home: the overview, or the one bot's page it leads to.
            assert resp.url.startswith(self.base_url) and "/accounts/login" not in resp.url, (
                f"login did not redirect home: {resp.url}")
        assert self.cookie("sessionid"), "no session cookie after login"

    def cookie(self, name: str) -> str | None:
        """A cookie's value."""
        return next((c.value for c in self.jar if c.name == name), None)

    def ws_headers(self) -> dict[str, str]:
        """Headers a same-origin browser sends on the WebSocket handshake."""
        return {"Cookie": f"sessionid={self.cookie('sessionid')}", "Origin": self.base_url}


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc's children lists)."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the shell runs the web server)."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{proc}/status").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (killed, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"
