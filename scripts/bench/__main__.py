"""`make bench`: our relay against the textbook Channels bridge and a plain `websockets` floor.

Same Redis, same publisher (bot_api's EventPublisher, the one the bot uses), same load processes,
one implementation at a time: ours (the production command: Uvicorn), ours-daphne and
ours-granian (the same application under the other ASGI servers), ours-2 (two production web
processes, the clients split between them), the scale-out line (ours-3: three processes;
ours-lb: two behind HAProxy, when it is installed; 1,000 clients x 10/s only), the textbook
Channels bridge and a plain `websockets` floor. Per scenario:
delivered/expected, duplicates, latency percentiles from publish to client receive, deliveries per
second, peak RSS of each server process and the RSS an idle connection costs.

    python -m scripts.bench                  # the full scenarios (make bench)
    python -m scripts.bench --write-docs     # ... and rewrite docs/benchmarks.md's results and plot
    python -m scripts.bench --quick          # a few clients for a few seconds (a smoke run)
    python -m scripts.bench --profile ours   # ... then a shorter pass with py-spy on the first web process
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psutil
import redis

from bot.outbox import SNAPSHOT_INTERVAL
from bot_api.events import (
    BotState,
    PnlData,
    PortfolioData,
    PortfolioEvent,
    PositionData,
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
from bot_api.settings import DEFAULT_REDIS_URL
from scripts import embedded_redis
from scripts.bench import frames, report
from scripts.bench.measure import Peak, Result, Scenario, cpu_of, rss_of, summarise
from scripts.bench.servers import IMPLS, servers, unavailable

ROOT = Path(__file__).resolve().parents[2]
FULL: list[Scenario] = [(100, 200, 10.0), (1000, 10, 10.0), (10, 2000, 10.0)]
QUICK: list[Scenario] = [(5, 50, 2.0)]
LATE = 2.0
"""Seconds after the last publish an event may still arrive; later ones count as lost."""
RAMP_CLIENTS, RAMP_SECONDS = 100, 3.0
RAMP = [25, 50, 100, 200, 400, 800, 1600, 3200]
"""Capacity: events per second to 100 clients (trades only), raised until one is lost or p99 > 250 ms."""
RAMP_IMPLS = ("ours", "ours-2", "floor", "textbook")
"""Who climbs the ramp (the other servers' scenarios are enough to choose between them)."""
SCALE_IMPLS = ("ours-3", "ours-lb")
"""Scale-out variants that run only SCALE (beside ours and ours-2, which run every scenario)."""
SCALE: Scenario = (1000, 10, 10.0)


def status_event(seq: int, started_at: datetime) -> StatusEvent:
    """The bot's status as of `seq` (one bot run: one `started_at`)."""
    zero = Decimal(0)
    data = StatusData(state=BotState.RUNNING, mode="paper", market_data="sim", strategy="bench", quote_asset="USDT",
                      symbols=["BTCUSDT"], prices={}, positions=[], pnl=PnlData(realized=zero, unrealized=zero,
                      total=zero), cash=zero, equity=zero, trade_count=0, recent_trades=[], started_at=started_at)
    return StatusEvent(seq=seq, data=data)


def portfolio(n: int, price: Decimal) -> PortfolioData:
    """The account after the n-th trade (one position; the figures are placeholders of real size)."""
    one, zero = Decimal(1), Decimal(0)
    pnl = PnlData(realized=zero, unrealized=zero, total=zero)
    position = PositionData(symbol="BTCUSDT", qty=one * n, avg_entry=price, mark_price=price, unrealized_pnl=zero)
    return PortfolioData(positions={"BTCUSDT": position}, pnl=pnl, cash=Decimal(100000) - price * n,
                         equity=Decimal(100000), trade_count=n // 10 + 1)


class Bench:
    """One run: Redis, a key prefix, a database with a logged-in user, the processes."""

    def __init__(self, redis_url: str, tmp: Path, events: str = "mixed", load_procs: int = 2) -> None:
        self.load_procs = load_procs
        self.events = events
        """mixed (every 10th a trade), prices (a lagging socket may get them conflated) or trades."""
        self.redis_url = redis_url
        self.tmp = tmp
        self.keys = RedisKeys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
        self.env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": self.keys.prefix, "DATABASE_URL": "",
                    "SQLITE_PATH": str(tmp / "db.sqlite3"), "VAR_DIR": str(tmp / "var"),
                    "SECRET_KEY": "bench-" + uuid.uuid4().hex, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
                    # Every client is the one bench account: the per-account cap (20) would refuse
                    # all but the first sockets.
                    "WS_MAX_SOCKETS_PER_USER": "100000"}
        self.seq = 0
        self.trade_seqs: set[int] = set()
        self.servers_started = 0
        self.started_at = utcnow()
        """The bench bot run's `started_at` (every status of the run carries it)."""

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
        """Start a server process; its output goes to a log file (BENCH_LOGS keeps them), never to
        a pipe: Daphne writes its access log to stdout and blocks on a full pipe nobody reads."""
        self.servers_started += 1
        path = Path(os.environ.get("BENCH_LOGS") or self.tmp) / f"server-{self.servers_started}.log"
        with path.open("w") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while ready is not None and ready not in path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not start: {path.read_text()[-2000:]}")
            time.sleep(0.1)
        return proc

    async def publish(self, rate: int, duration: float, sent: dict[int, int]) -> None:
        """Publish `rate` events a second for `duration` seconds, noting each one's send time.

        As the bot's outbox does, the snapshot goes along with an event every SNAPSHOT_INTERVAL:
        a connecting socket then replays a fraction of a second of events, not the whole run.
        """
        redis = connect(self.redis_url)
        publisher = EventPublisher(redis, self.keys)
        try:
            count = int(rate * duration)
            start = snapshot_at = time.monotonic()
            for n in range(count):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.seq += 1
                snapshot = None
                if time.monotonic() - snapshot_at >= SNAPSHOT_INTERVAL:
                    snapshot, snapshot_at = status_event(self.seq, self.started_at), time.monotonic()
                sent[self.seq] = time.monotonic_ns()
                await publisher.publish(self.event(self.seq, n), snapshot=snapshot)
        finally:
            await redis.aclose()

    async def open_run(self) -> None:
        """The bot's first status (seq 1): every socket of ours starts with that snapshot."""
        redis = connect(self.redis_url)
        try:
            self.seq = 1
            status = status_event(1, self.started_at)  # the event and the snapshot are one object
            await EventPublisher(redis, self.keys).publish(status, snapshot=status)
        finally:
            await redis.aclose()

    def event(self, seq: int, n: int) -> PriceUpdateEvent | TradeExecutedEvent | PortfolioEvent:
        """The n-th event of a scenario: prices, trades, or (mixed) every 10th a trade and the next
        the account after it, as the bot sends them."""
        price = Decimal(60000 + n)
        if self.events == "mixed" and n % 10 == 1:
            return PortfolioEvent(seq=seq, data=portfolio(n, price))
        if self.events == "prices" or (self.events == "mixed" and n % 10):
            return PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=price))
        self.trade_seqs.add(seq)
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

    def load(self, impl: str, urls: list[str], headers: dict[str, str], clients: int, name: str,
             ) -> tuple[list[subprocess.Popen[str]], list[Path]]:
        """Start the load processes for `clients` clients; return once every one is in (or refused)."""
        loads, outs = [], []
        shares = [clients // self.load_procs + (i < clients % self.load_procs) for i in range(self.load_procs)]
        for i, share in enumerate(s for s in shares if s):
            outs.append(self.tmp / f"load-{name}-{i}.json")
            # Each load process spreads its clients over the servers' URLs in turn.
            loads.append(subprocess.Popen(
                [sys.executable, "-m", "scripts.bench.load", *(a for u in urls for a in ("--url", u)),
                 "--headers", json.dumps(headers), "--clients", str(share), "--duration", "600",
                 "--out", str(outs[-1]), "--ack", "--offset", str(i),
                 *(["--first-frame"] if impl.startswith("ours") else [])],
                cwd=ROOT, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for load in loads:
            if load.stdout is None:
                raise RuntimeError("the load process has no pipes")
            line = load.stdout.readline().strip()
            if line != "CONNECTED":
                print(f"  {impl}: a load process says {line!r}", flush=True)
        return loads, outs

    @staticmethod
    def stop(loads: list[subprocess.Popen[str]]) -> None:
        """Tell the load processes to close their clients and write their results; wait for them."""
        for load in loads:
            if load.stdin is not None:
                load.stdin.write("stop\n")
                load.stdin.flush()
        for load in loads:
            load.wait(120)

    def run(self, impl: str, urls: list[str], headers: dict[str, str], pids: list[int], scenario: Scenario,
            profile: Path | None = None, *, fresh: bool = True) -> Result:
        """One scenario: connect every client (split over the load processes), publish, collect."""
        clients, rate, duration = scenario
        servers = [psutil.Process(p) for p in pids]
        if fresh:
            # A few clients first, so that what the first connections load once (Django's lazy
            # parts, the relay, thread pools) is not counted as the cost of a connection.
            self.stop(self.load(impl, urls, headers, 5, f"{impl}-warm-up")[0])
            time.sleep(0.5)
        idle_before = sum(rss_of(p) for p in servers)
        loads, outs = self.load(impl, urls, headers, clients, f"{impl}-{clients}-{rate}")
        time.sleep(1)  # the handshakes' garbage settles before the idle figure
        idle_kb = (sum(rss_of(p) for p in servers) - idle_before) / 1024 / clients
        peak = Peak(pids)
        spy = self.profiler(pids[0], duration, profile) if profile else None
        sent: dict[int, int] = {}
        started, cpu_before = time.monotonic(), sum(cpu_of(p) for p in servers)
        asyncio.run(self.publish(rate, duration, sent))
        cpu_pct = 100 * (sum(cpu_of(p) for p in servers) - cpu_before) / (time.monotonic() - started)
        time.sleep(LATE)  # the last events in flight; later than this counts as lost
        self.stop(loads)
        rss = peak.done()
        if spy is not None:
            spy.wait(60)
        outputs = [json.loads(out.read_text()) for out in outs]
        received = [c for output in outputs for c in output["clients"]]
        result = summarise(impl, scenario, sent, received, rss, idle_kb)
        result.cpu_pct = cpu_pct
        result.refused = sum(output.get("failed", 0) for output in outputs)
        trades = self.trade_seqs & sent.keys()
        result.trades_expected = len(trades) * clients
        result.trades_delivered = sum(len(trades.intersection(seq for seq, _ in frames)) for frames in received)
        return result

    def memory(self, clients: int, cookie: str) -> str:
        """What `clients` idle connections hold in the production server (scripts/bench/memory.py)."""
        port = embedded_redis.free_port()
        done = subprocess.run([sys.executable, "-m", "scripts.bench.memory", "--port", str(port), "--clients",
                               str(clients), "--headers", json.dumps({"Cookie": f"sessionid={cookie}"})],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"the memory profile failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def profiler(self, pid: int, duration: float, out: Path) -> subprocess.Popen[bytes]:
        """py-spy sampling one server process for the publishing time (raw collapsed stacks)."""
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(duration)), "--format",
                                 "raw", "--rate", "200", "--nonblocking", "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_impl(bench: Bench, impl: str, scenarios: list[Scenario], ramp: list[int], cookie: str) -> list[Result]:
    """Every scenario, then the capacity ramp, on one implementation (fresh processes for each)."""
    results: list[Result] = []
    if reason := unavailable(impl):
        print(f"  {impl}: skipped, {reason}", flush=True)
        return results
    if impl in SCALE_IMPLS and SCALE in FULL and scenarios == FULL:
        scenarios = [SCALE]
    for scenario in scenarios:
        with servers(bench, impl, cookie) as srv:
            results.append(bench.run(impl, srv.urls, srv.headers, srv.pids, scenario))
        print("  " + report.line(results[-1]), flush=True)
    if not ramp or impl not in RAMP_IMPLS:
        return results
    events, bench.events = bench.events, "trades"  # nothing may be conflated on the ramp
    try:
        with servers(bench, impl, cookie) as srv:
            for rate in ramp:
                step = bench.run(impl, srv.urls, srv.headers, srv.pids, (RAMP_CLIENTS, rate, RAMP_SECONDS),
                                 fresh=rate == ramp[0])
                step.capacity = True
                results.append(step)
                print("  capacity " + report.line(step), flush=True)
                if not report.sustained(step):
                    break  # past what it sustains
    finally:
        bench.events = events
    return results


def profile_impl(bench: Bench, impl: str, scenarios: list[Scenario], cookie: str, out: Path) -> dict[str, str]:
    """A separate, shorter pass with py-spy on the first server process (its figures are not
    reported: sampling costs CPU the measured runs must not lose). Hot spots per scenario."""
    hot = {}
    for clients, rate, duration in scenarios:
        path = out / f"{impl}-{clients}x{rate}.txt"
        with servers(bench, impl, cookie) as srv:
            bench.run(impl, srv.urls, srv.headers, srv.pids, (clients, rate, min(duration, 6.0)), path)
        hot[f"{impl}, {clients} clients x {rate}/s"] = report.hot_spots(path.read_text() if path.exists() else "")
    return hot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few clients for a few seconds")
    parser.add_argument("--impl", default=",".join(IMPLS), help=f"comma-separated, of {', '.join(IMPLS)}")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--events", choices=["mixed", "prices", "trades"], default="mixed",
                        help="price_update (conflated for a lagging socket), trade_executed (never), or every "
                             "10th a trade")
    parser.add_argument("--scenario", action="append", help="CLIENTS:RATE:SECONDS (repeatable), instead of the set")
    parser.add_argument("--load-procs", type=int, default=2, help="load processes the clients are split over")
    parser.add_argument("--profile", help="after measuring, py-spy these implementations' first server process "
                                         "in a separate pass (comma-separated)")
    parser.add_argument("--no-capacity", action="store_true", help="skip the capacity ramp")
    parser.add_argument("--memory", type=int, default=0, metavar="N",
                        help="then what N idle connections hold, by where it was allocated (tracemalloc)")
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/benchmarks.md's results and plot")
    args = parser.parse_args()
    scenarios = QUICK if args.quick else FULL
    if args.scenario:
        scenarios = [(int(c), int(r), float(d)) for c, r, d in (x.split(":") for x in args.scenario)]
    profiled = set((args.profile or "").split(",")) - {""}
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    profiles: dict[str, str] = {}
    memory = ""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        server = None
        if not embedded_redis.redis_answers(url):
            server = embedded_redis.start(Path(tmp) / "redis", persist=False)
            url = server.url
        try:
            bench = Bench(url, Path(tmp), args.events, args.load_procs)
            try:
                cookie = bench.session_cookie()
                asyncio.run(bench.open_run())
                ramp = [] if args.quick or args.scenario or args.no_capacity else RAMP
                results = [r for impl in args.impl.split(",") for r in run_impl(bench, impl, scenarios, ramp, cookie)]
                for impl in sorted(profiled):
                    profiles.update(profile_impl(bench, impl, scenarios, cookie, Path(tmp)))
                if args.memory:
                    memory = bench.memory(args.memory, cookie)
                    print(memory)
            finally:
                bench.clean()
        finally:
            if server is not None:
                server.stop()
    sizes = frames.measure()
    print(report.table(results))
    print(report.servers_table(results))
    print(report.scale_table(results))
    print(report.capacity_table(results))
    print(report.targets(results, sizes))
    for name, hot in profiles.items():
        print(f"\nprofile {name}:\n{hot}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=1))
    if args.write_docs:
        report.write_docs(results, profiles, ROOT / "docs", sizes, memory)
    return 0 if all(r.in_order and not r.duplicates for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
