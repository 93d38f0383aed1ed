"""`make bench`: our relay against the textbook Channels bridge and a plain `websockets` floor.

Same Redis, same publisher (bot_api's EventPublisher, the one the bot uses), same load process,
one implementation at a time. Per scenario: delivered/expected, latency percentiles from publish
to client receive, deliveries per second and peak RSS of the server processes.

    python -m scripts.bench            # the full scenarios
    python -m scripts.bench --quick    # a few clients for a few seconds (a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psutil
import redis

from bot_api.events import (
    BotState,
    PnlData,
    PriceData,
    PriceUpdateEvent,
    Side,
    StatusData,
    StatusEvent,
    TradeData,
    TradeExecutedEvent,
)
from bot_api.keys import RedisKeys
from bot_api.models import utcnow
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect
from scripts import embedded_redis

ROOT = Path(__file__).resolve().parents[2]
FULL = [(100, 200, 10.0), (1000, 10, 10.0), (10, 2000, 10.0)]
QUICK = [(5, 50, 2.0)]
"""(clients, events per second, seconds)."""


@dataclass
class Result:
    impl: str
    clients: int
    rate: int
    expected: int
    delivered: int
    in_order: bool
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_second: float
    rss_mb: float

    @property
    def lost(self) -> float:
        return 1 - self.delivered / self.expected if self.expected else 0.0


class Peak:
    """Samples the summed RSS of some processes (and their children) until stopped."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            total = 0
            for proc in self.procs:
                try:
                    total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def done(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.peak / 2**20


def status_event(seq: int) -> StatusEvent:
    zero = Decimal(0)
    data = StatusData(state=BotState.RUNNING, mode="paper", market_data="sim", strategy="bench", quote_asset="USDT",
                      symbols=["BTCUSDT"], prices={}, positions=[], pnl=PnlData(realized=zero, unrealized=zero,
                      total=zero), cash=zero, equity=zero, trade_count=0, recent_trades=[], started_at=utcnow())
    return StatusEvent(seq=seq, data=data)


class Bench:
    """One run: Redis, a key prefix, a database with a logged-in user, the processes."""

    def __init__(self, redis_url: str, tmp: Path, events: str = "prices") -> None:
        self.events = events
        """prices (price_update: a lagging socket may get them conflated) or trades (never conflated)."""
        self.redis_url = redis_url
        self.tmp = tmp
        self.keys = RedisKeys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
        self.env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": self.keys.prefix, "DATABASE_URL": "",
                    "SQLITE_PATH": str(tmp / "db.sqlite3"), "VAR_DIR": str(tmp / "var"),
                    "SECRET_KEY": "bench-" + uuid.uuid4().hex, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
        self.seq = 0

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True, timeout=120).stdout

    def session_cookie(self) -> str:
        self.manage("migrate", "--noinput", "-v0")
        return self.manage("shell", "-c", (
            "from django.contrib.auth.models import User; from django.contrib.sessions.backends.db import "
            "SessionStore; from django.contrib.auth import HASH_SESSION_KEY; "
            "u = User.objects.create_user('bench', password='bench-pass-123'); s = SessionStore(); "
            "s.update({'_auth_user_id': str(u.pk), '_auth_user_backend': "
            "'django.contrib.auth.backends.ModelBackend', HASH_SESSION_KEY: u.get_session_auth_hash()}); "
            "s.create(); print(s.session_key)")).strip().splitlines()[-1]  # after the shell's own notes

    def start(self, argv: list[str], ready: str | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        if ready is not None and proc.stdout is not None:
            for line in proc.stdout:
                if ready in line:
                    break
        return proc

    async def publish(self, rate: int, duration: float, sent: dict[int, int]) -> None:
        redis = connect(self.redis_url)
        publisher = EventPublisher(redis, self.keys)
        try:
            if self.seq == 0:
                self.seq = 1
                status = status_event(1)  # one object: the event and the snapshot are one bot run
                await publisher.publish(status, snapshot=status)
            count = int(rate * duration)
            start = time.monotonic()
            for n in range(count):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.seq += 1
                sent[self.seq] = time.monotonic_ns()
                await publisher.publish(self.event(self.seq, n))
        finally:
            await redis.aclose()

    def event(self, seq: int, n: int) -> PriceUpdateEvent | TradeExecutedEvent:
        """The n-th event of a scenario."""
        price = Decimal(60000 + n)
        if self.events == "prices":
            return PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=price))
        one = Decimal(1)
        return TradeExecutedEvent(seq=seq, data=TradeData(
            trade_id=f"bench-{seq}", symbol="BTCUSDT", side=Side.BUY, qty=one, price=price, quote_qty=price,
            fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(0), executed_at=utcnow()))

    def clean(self) -> None:
        """Delete every key of this run."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            for key in client.scan_iter(f"{self.keys.prefix}:*", count=500):
                client.delete(key)
        finally:
            client.close()

    def run(self, impl: str, url: str, headers: dict[str, str], pids: list[int], clients: int, rate: int,
            duration: float) -> Result:
        out = self.tmp / f"load-{impl}-{clients}-{rate}.json"
        load = subprocess.Popen(
            [sys.executable, "-m", "scripts.bench.load", "--url", url, "--headers", json.dumps(headers),
             "--clients", str(clients), "--duration", str(duration + 120), "--out", str(out), "--ack"],
            cwd=ROOT, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if load.stdout is None or load.stdin is None:
            raise RuntimeError("the load process has no pipes")
        print(f"  {impl}: {load.stdout.readline().strip()}", flush=True)
        peak = Peak(pids)
        sent: dict[int, int] = {}
        started = time.monotonic()
        asyncio.run(self.publish(rate, duration, sent))
        time.sleep(2)  # the last events in flight
        load.stdin.write("stop\n")
        load.stdin.flush()
        load.wait(120)
        elapsed = time.monotonic() - started
        rss = peak.done()
        if os.environ.get("BENCH_KEEP"):
            (Path(os.environ["BENCH_KEEP"]) / out.name).write_text(out.read_text())
        return summarise(impl, clients, rate, sent, json.loads(out.read_text())["clients"], elapsed, rss)


def summarise(impl: str, clients: int, rate: int, sent: dict[int, int], received: list[list[list[int]]],
              elapsed: float, rss: float) -> Result:
    latencies: list[float] = []
    delivered = 0
    in_order = True
    for frames in received:
        last = 0
        for seq, at in frames:
            if seq in sent:
                delivered += 1
                latencies.append((at - sent[seq]) / 1e6)
                in_order = in_order and seq > last
                last = seq
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    return Result(impl, clients, rate, len(sent) * clients, delivered, in_order, pct(0.5), pct(0.99),
                  latencies[-1] if latencies else float("nan"), delivered / elapsed, rss)


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def run_impl(bench: Bench, impl: str, scenarios: list[tuple[int, int, float]], cookie: str) -> list[Result]:
    """Start one implementation's processes, run every scenario against it, stop them."""
    port = embedded_redis.free_port()
    daphne = [sys.executable, "-m", "daphne", "--bind", "127.0.0.1", "--port", str(port)]
    procs: list[subprocess.Popen[str]] = []
    headers: dict[str, str] = {}
    if impl == "ours":
        procs.append(bench.start([*daphne, "--websocket-max-message-size", "65536", "crypto_bot_ui.asgi:application"]))
        url = f"ws://127.0.0.1:{port}/ws/dashboard/"
        headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    elif impl == "textbook":
        procs.append(bench.start([*daphne, "scripts.bench.textbook:application"]))
        procs.append(bench.start([sys.executable, "-m", "scripts.bench.textbook", bench.redis_url,
                                  bench.keys.events_channel], ready="READY"))
        url = f"ws://127.0.0.1:{port}/ws/"
    else:
        procs.append(bench.start([sys.executable, "-m", "scripts.bench.floor", "--port", str(port), "--redis-url",
                                  bench.redis_url, "--channel", bench.keys.events_channel], ready="READY"))
        url = f"ws://127.0.0.1:{port}/"
    try:
        wait_port(port)
        results = []
        for clients, rate, duration in scenarios:
            results.append(bench.run(impl, url, headers, [p.pid for p in procs], clients, rate, duration))
            r = results[-1]
            print(f"  {impl:8} {clients:5} x {rate:5}/s: {r.delivered}/{r.expected} lost {r.lost:.1%} "
                  f"p50 {r.p50_ms:.1f} ms p99 {r.p99_ms:.1f} ms max {r.max_ms:.1f} ms, {r.per_second:,.0f}/s, "
                  f"RSS {r.rss_mb:.0f} MB{'' if r.in_order else ', OUT OF ORDER'}", flush=True)
        return results
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def table(results: list[Result]) -> str:
    """The results as a Markdown table, with our figures as ratios to the floor and the baseline."""
    lines = ["| scenario | implementation | delivered | lost | p50 ms | p99 ms | max ms | deliveries/s | peak RSS MB |"
             " p99 vs floor | deliveries vs textbook |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r.impl, r.clients, r.rate): r for r in results}
    for r in results:
        floor, textbook = by.get(("floor", r.clients, r.rate)), by.get(("textbook", r.clients, r.rate))
        vs_floor = f"{r.p99_ms / floor.p99_ms:.2f}x" if r.impl == "ours" and floor and floor.p99_ms else ""
        vs_text = (f"{r.per_second / textbook.per_second:.1f}x" if r.impl == "ours" and textbook
                   and textbook.per_second else "")
        lines.append(f"| {r.clients} clients x {r.rate}/s | {r.impl} | {r.delivered}/{r.expected} | {r.lost:.1%} | "
                     f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.per_second:,.0f} | {r.rss_mb:.0f} | "
                     f"{vs_floor} | {vs_text} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few clients for a few seconds")
    parser.add_argument("--impl", default="ours,floor,textbook")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--events", choices=["prices", "trades"], default="prices",
                        help="price_update (conflated for a lagging socket) or trade_executed (never)")
    parser.add_argument("--scenario", action="append", help="CLIENTS:RATE:SECONDS (repeatable), instead of the set")
    args = parser.parse_args()
    scenarios = QUICK if args.quick else FULL
    if args.scenario:
        scenarios = [(int(c), int(r), float(d)) for c, r, d in (x.split(":") for x in args.scenario)]
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        server = None
        if not embedded_redis.redis_answers(url):
            server = embedded_redis.start(Path(tmp) / "redis", persist=False)
            url = server.url
        try:
            bench = Bench(url, Path(tmp), args.events)
            try:
                cookie = bench.session_cookie()
                results = [r for impl in args.impl.split(",") for r in run_impl(bench, impl, scenarios, cookie)]
            finally:
                bench.clean()
        finally:
            if server is not None:
                server.stop()
    print(table(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 0 if all(r.in_order for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
