"""`python -m scripts.compose_check_scale`: `docker compose` beyond one process, checked as a user would.

Runs docker-compose.yml with `--profile ha` (a Redis replica and three Sentinels, every process
finding the master through them) and compose.scale.yml (two web replicas behind HAProxy, two
recorders, two notifiers), on the local stand-in images of ../shared/compose-standins (STANDINS
to point elsewhere). Then, through the balancer on 127.0.0.1:8000 (which must be free): health,
the printed admin password, stored trades; a dashboard socket that survives the kill of the
replica serving it (it resumes on the other, no event missed); the Redis master killed, Sentinel
promoting the replica, trades stored again. Ends with `N passed, M failed` and removes
everything it made (`down -v`).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
STANDINS = Path(os.environ.get("STANDINS", ROOT.parent / "shared" / "compose-standins"))
BASE = "http://127.0.0.1:8000"
HA_ENV = {
    "COMPOSE_PROFILES": "ha",
    "REDIS_SENTINELS": "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379",
    "REDIS_SENTINEL_MASTER": "cryptobot",
    "SENTINEL_DOWN_AFTER": "2000",  # a quicker failover than the default 5 s, for the check's sake
    # A trade every few seconds (the default strategy decides once a minute): "trades flow again"
    # is then measured in seconds.
    "TICK_INTERVAL": "0.2", "SMA_FAST": "3", "SMA_SLOW": "8", "STRATEGY_TIMEFRAME": "0",
}
FLOWS_AGAIN_WITHIN = 30.0
"""Seconds from the master's kill until a new trade is stored (2 s to notice, then the election)."""


class Check:
    """The compose project under test and the tally of checks."""

    def __init__(self) -> None:
        self.project = f"scalecheck{os.getpid()}"
        # A subnet of its own: a stack of the user's with compose.scale.yml may hold the default one.
        net = 100 + os.getpid() % 100
        self.env = {**os.environ, **HA_ENV, "DOCKER_CONFIG": docker_config(),
                    "SCALE_SUBNET": f"172.30.{net}.0/24", "SCALE_LB_ADDRESS": f"172.30.{net}.250"}
        self.passed = 0
        self.failed = 0
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def dc(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run `docker compose` on the project with both files."""
        return subprocess.run(["docker", "compose", "-p", self.project, "-f", "docker-compose.yml",
                               "-f", "compose.scale.yml", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def result(self, name: str, ok: bool, why: str = "") -> bool:
        """Count and print one check."""
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}", flush=True)
        return ok

    def get(self, path: str) -> tuple[int, str]:
        """GET through the balancer: (status, body); 0 when nothing answers."""
        try:
            with self.http.open(BASE + path, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except OSError:
            return 0, ""

    def health(self) -> dict[str, Any]:
        """/api/health's report ({} while nothing answers)."""
        status, body = self.get("/api/health")
        try:
            return dict(json.loads(body)) if status else {}
        except ValueError:
            return {}

    def login(self, password: str) -> bool:
        """Log in as admin through the form; True when it redirected away from it."""
        status, page = self.get("/accounts/login/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not match:
            return False
        body = urllib.parse.urlencode({"username": "admin", "password": password,
                                       "csrfmiddlewaretoken": match.group(1), "next": "/"}).encode()
        request = urllib.request.Request(BASE + "/accounts/login/", data=body,  # noqa: S310 - loopback
                                         headers={"Referer": BASE + "/accounts/login/"})
        try:
            with self.http.open(request, timeout=10) as resp:
                return "/accounts/login" not in resp.url
        except OSError:
            return False

    def trade_count(self) -> int:
        """How many trades the API lists (0 when it does not answer)."""
        status, body = self.get("/api/trades?page_size=1")
        return int(json.loads(body).get("count", 0)) if status == 200 else 0

    def web_containers(self) -> list[str]:
        """The running web replicas' container ids."""
        return self.dc("ps", "-q", "web").stdout.split()

    def cookie_header(self) -> dict[str, str]:
        """The session cookie and Origin a same-origin page sends on the socket's handshake."""
        session = next((c.value for c in self.jar if c.name == "sessionid"), "")
        return {"Cookie": f"sessionid={session}", "Origin": BASE}


def docker_config() -> str:
    """The DOCKER_CONFIG the stand-ins' build script sets up (for the compose plugin)."""
    line = subprocess.run(["bash", str(STANDINS / "build.sh"), "--env"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return line.split("=", 1)[1]


def wait(predicate: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll until truthy; the last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


class Watcher:
    """A dashboard socket that resumes as the page does, and checks that its seqs never skip."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.last_seq: int | None = None
        self.gaps: list[tuple[int, int]] = []
        self.closes = 0
        self.resumed: list[bool] = []
        self.ws: ClientConnection | None = None

    async def open(self) -> None:
        """Connect through the balancer (retrying), resuming from the last seq seen."""
        async with asyncio.timeout(60):
            while True:
                try:
                    self.ws = await connect(BASE.replace("http", "ws") + "/ws/dashboard/",
                                            additional_headers=self.check.cookie_header())
                    break
                except (OSError, ConnectionClosed, Exception):  # noqa: BLE001 - refused or a 503 meanwhile
                    await asyncio.sleep(0.5)
        if self.last_seq is not None:
            await self.ws.send(json.dumps({"command": "resume", "last_seq": self.last_seq, "id": "check"}))

    async def run(self) -> None:
        """Read until cancelled; reconnect on a close."""
        while True:
            if self.ws is None:
                await self.open()
            assert self.ws is not None  # noqa: S101 - just opened
            try:
                text = await self.ws.recv()
            except ConnectionClosed:
                self.closes += 1
                self.ws = None
                continue
            decoded = json.loads(text)
            for frame in decoded if isinstance(decoded, list) else [decoded]:
                self._apply(frame)

    def _apply(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "bot_control" and frame["data"].get("ref") == "check":
            self.resumed.append(bool(frame["data"].get("recovered")))
        seq = frame.get("seq")
        if not isinstance(seq, int):
            return
        if frame["type"] == "status":
            self.last_seq = seq  # a snapshot starts the count afresh
            return
        if self.last_seq is not None and seq > self.last_seq + 1:
            self.gaps.append((self.last_seq, seq))
        if self.last_seq is None or seq > self.last_seq:
            self.last_seq = seq


async def socket_survives_a_replica(check: Check) -> tuple[bool, str]:
    """Kill the web replica serving a socket; it must resume on the other with nothing missed."""
    watcher = Watcher(check)
    task = asyncio.create_task(watcher.run())
    try:
        await asyncio.sleep(3)
        if watcher.last_seq is None:
            return False, "the socket got no event in 3 s"
        for container in await asyncio.to_thread(check.web_containers):
            before = watcher.closes
            await asyncio.to_thread(subprocess.run, ["docker", "kill", container], env=check.env,
                                    capture_output=True, check=False)
            await asyncio.sleep(5)
            if watcher.closes > before:
                seq = watcher.last_seq or 0
                await asyncio.sleep(8)  # resumed on the other replica: events keep coming
                if not watcher.resumed or not watcher.resumed[-1]:
                    return False, f"the resume was not recovered: {watcher.resumed}"
                if (watcher.last_seq or 0) <= seq:
                    return False, "no event after the resume"
                if watcher.gaps:
                    return False, f"seqs skipped: {watcher.gaps}"
                return True, ""
            # Not this socket's replica: bring it back before killing the other.
            await asyncio.to_thread(check.dc, "up", "-d", "--no-recreate", "--scale", "web=2",
                                    "--scale", "recorder=2", "--scale", "notifier=2")
            await asyncio.to_thread(wait, lambda: len(check.web_containers()) == 2, 60)
            await asyncio.sleep(5)
        return False, "the socket was never closed by a replica's death"
    finally:
        task.cancel()
        if watcher.ws is not None:
            await watcher.ws.close()


def main() -> int:
    """Run every check; 0 when all passed."""
    built = subprocess.run(["bash", str(STANDINS / "build.sh")], capture_output=True, text=True, check=False)
    if built.returncode:
        print(f"0 passed, 1 failed (stand-ins could not be built: {built.stderr[-300:]})")
        return 1
    check = Check()
    try:
        config = check.dc("config", "-q")
        check.result("compose_config", config.returncode == 0, config.stderr[-300:])
        up = check.dc("up", "-d", "--build", "--scale", "web=2", "--scale", "recorder=2", "--scale", "notifier=2")
        if not check.result("compose_up", up.returncode == 0, up.stderr[-500:]):
            return 1
        report = wait(lambda: (h := check.health()).get("status") == "ok" and h, 240, 2)
        check.result("api_health_through_the_balancer", bool(report), str(check.health())[:300])
        master = (report or {}).get("redis_master") or {}
        check.result("master_found_by_sentinel", master.get("found_by") == "sentinel", str(master))
        bad = wait(lambda: not _unhealthy(check) or None, 120, 2)
        check.result("services_up", bad is not None, str(_unhealthy(check)))
        check.result("two_web_replicas", len(check.web_containers()) == 2, str(check.web_containers()))
        logs = check.dc("logs", "--no-color", "migrate").stdout
        found = re.search(r"with password: (\S+)", logs)
        password = found.group(1) if found else ""
        check.result("admin_login", bool(password) and check.login(password), "no password, or it did not log in")
        stored = wait(check.trade_count, 120, 2)
        check.result("trades_stored", bool(stored), "no trade in /api/trades after 2 minutes")
        ok, why = asyncio.run(socket_survives_a_replica(check))
        check.result("socket_survives_a_replica_kill", ok, why)
        before = check.trade_count()
        killed = time.monotonic()
        check.dc("kill", "redis")
        promoted = wait(lambda: (check.health().get("redis_master") or {}).get("address", "").startswith(
            "redis-replica"), FLOWS_AGAIN_WITHIN, 0.5)
        check.result("sentinel_promoted_the_replica", bool(promoted), str(check.health().get("redis_master")))
        grew = wait(lambda: check.trade_count() > before, FLOWS_AGAIN_WITHIN, 0.5)
        check.result("trades_flow_after_failover", bool(grew),
                     f"no new trade {time.monotonic() - killed:.0f} s after the master's kill")
        print(f"  new trades stored {time.monotonic() - killed:.1f} s after the master's kill", flush=True)
        restarts_keep_the_failover(check)
    finally:
        if check.failed:
            print(check.dc("logs", "--no-color", "--tail", "30").stdout[-6000:])
        check.dc("down", "-v", "--remove-orphans")
    print(f"{check.passed} passed, {check.failed} failed")
    return 0 if check.failed == 0 else 1


def restarts_keep_the_failover(check: Check) -> None:
    """The old master comes back as a replica, and the new one restarted stays the master: each node
    keeps the role the Sentinels last gave it (its configuration lives in its volume)."""
    def role(service: str) -> str:
        words = check.dc("exec", "-T", service, "redis-cli", "role").stdout.split()
        return words[0] if words else "down"

    check.dc("start", "redis")
    rejoined = wait(lambda: role("redis") == "slave", 60, 2)
    check.result("old_master_rejoins_as_replica", bool(rejoined), f"redis is {role('redis')}")
    before = check.trade_count()
    check.dc("restart", "redis-replica")
    kept = wait(lambda: role("redis-replica") == "master" and check.trade_count() > before, 90, 2)
    check.result("restarted_master_stays_master", bool(kept),
                 f"redis-replica is {role('redis-replica')}, trades {before} -> {check.trade_count()}")


def _unhealthy(check: Check) -> list[str]:
    """Services neither running-and-healthy, running without a health check, nor done (migrate)."""
    rows = check.dc("ps", "-a", "--format", "{{.Service}} {{.State}} {{.Health}}").stdout.splitlines()
    return [row for row in rows if not re.fullmatch(r"\S+ (running healthy|running ?|exited)", row.strip())]


if __name__ == "__main__":
    sys.exit(main())
