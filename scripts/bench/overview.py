"""The overview under many bots: what an overview socket receives while 20 bots publish prices at
10 a second each, and what the web process spends on it, against sockets of one bot's page.

    python -m scripts.bench.overview                # 20 bots x 10/s, 10 sockets, 10 s per case
    python -m scripts.bench.overview --write-docs   # ... and rewrite its part of docs/benchmarks.md

Both cases run with the same 20 bots publishing (the relay parses every bot's events either way);
only the sockets differ. Figures: frames and envelopes per second per socket, and the web
process's CPU (% of one core) while the bots publish.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

from bot_api.events import MarksData, PriceData, PriceUpdateEvent
from bot_api.keys import RedisKeys
from bot_api.models import utcnow
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect as redis_connect
from bot_api.registry import announce
from bot_api.settings import DEFAULT_REDIS_URL
from scripts import embedded_redis
from scripts.bench.__main__ import Bench, status_event
from scripts.bench.measure import cpu_of
from scripts.bench.servers import servers

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- overview-results:start -->", "<!-- overview-results:end -->"


@dataclass
class Case:
    """One case's figures."""

    name: str
    sockets: int
    frames_per_s: float
    """WebSocket frames per second per socket (a frame may carry several envelopes)."""
    envelopes_per_s: float
    cpu_pct: float


async def publish(redis_url: str, prefix: str, bots: int, rate: float, seconds: float) -> int:
    """`bots` bots, each announcing itself every second and publishing `rate` prices a second."""
    redis = redis_connect(redis_url)
    keys = [RedisKeys(prefix=prefix, bot_id=f"bot-{n:02d}") for n in range(bots)]
    publishers = [EventPublisher(redis, k) for k in keys]
    sent = 0
    try:
        seqs = [int(await redis.get(k.seq_key) or 0) for k in keys]
        for n, (k, p) in enumerate(zip(keys, publishers, strict=True)):
            if seqs[n] == 0:
                seqs[n] = 1
                status = status_event(1, utcnow()).model_copy(update={"bot": k.bot_id})
                await p.publish(status, snapshot=status)
        start = time.monotonic()
        last_beat = float("-inf")
        tick = 0
        while (now := time.monotonic()) - start < seconds:
            if now - last_beat >= 1.0:
                await asyncio.gather(*(announce(redis, k) for k in keys))
                last_beat = now
            tick += 1
            for n, (k, p) in enumerate(zip(keys, publishers, strict=True)):
                seqs[n] += 1
                total = Decimal(tick % 100) - Decimal(n)
                marks = MarksData(decimals=2, realized=Decimal(0), unrealized=total, total=total, cash=Decimal(1000),
                                  equity=Decimal(1000) + total, positions={})
                await p.publish(PriceUpdateEvent(seq=seqs[n], bot=k.bot_id, data=PriceData(
                    symbol="BTCUSDT", price=Decimal(60000 + tick), marks=marks)))
                sent += 1
            delay = start + tick / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        await redis.aclose()
    return sent


async def client(url: str, headers: dict[str, str], counts: list[int], ready: asyncio.Event) -> None:
    """Count frames and envelopes; acknowledge bot events as the page does."""
    async with connect(url, additional_headers=headers, open_timeout=20, max_size=2**22) as ws:
        ready.set()
        acked = 0
        while True:
            text = await ws.recv()
            parsed = json.loads(text)
            envelopes = parsed if isinstance(parsed, list) else [parsed]
            counts[0] += 1
            counts[1] += len(envelopes)
            top = max((e["seq"] for e in envelopes if e.get("seq") is not None), default=0)
            if top - acked >= 20:
                await ws.send(json.dumps({"command": "ack", "seq": top}))
                acked = top


async def measure(name: str, url: str, headers: dict[str, str], pid: int, bench: Bench, bots: int, rate: float,
                  seconds: float, sockets: int) -> Case:
    """Open `sockets` clients on `url`, publish, count."""
    counts = [[0, 0] for _ in range(sockets)]
    readies = [asyncio.Event() for _ in range(sockets)]
    tasks = [asyncio.create_task(client(url, headers, counts[i], readies[i])) for i in range(sockets)]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
        await asyncio.sleep(2.0)  # the first list and snapshots are not the steady state
        for c in counts:
            c[0] = c[1] = 0
        proc = psutil.Process(pid)
        cpu_before, started = cpu_of(proc), time.monotonic()
        await publish(bench.redis_url, bench.keys.prefix, bots, rate, seconds)
        elapsed = time.monotonic() - started
        cpu = 100 * (cpu_of(proc) - cpu_before) / elapsed
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
    return Case(name, sockets, sum(c[0] for c in counts) / sockets / elapsed,
                sum(c[1] for c in counts) / sockets / elapsed, cpu)


def table(cases: list[Case], bots: int, rate: float) -> str:
    """The cases as a Markdown table."""
    lines = [f"{bots} bots publishing {rate:g} prices/s each ({bots * rate:g} events/s into the web process):", "",
             "| sockets | frames/s per socket | envelopes/s per socket | web process CPU |",
             "|---|---:|---:|---:|"]
    lines += [f"| {c.sockets} x {c.name} | {c.frames_per_s:.1f} | {c.envelopes_per_s:.1f} | {c.cpu_pct:.0f} % |"
              for c in cases]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace the overview section's results in docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text()
    block = f"{START}\n{text}\n{END}"
    doc = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    path.write_text(doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="prices per second per bot")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sockets", type=int, default=10)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    with tempfile.TemporaryDirectory(prefix="bench-overview-") as tmp:
        server = None
        if not embedded_redis.redis_answers(url):
            server = embedded_redis.start(Path(tmp) / "redis", persist=False)
            url = server.url
        bench = Bench(url, Path(tmp))
        try:
            cookie = bench.session_cookie()
            cases = []
            with servers(bench, "ours", cookie) as srv:
                base = srv.urls[0].replace("/ws/dashboard/", "")
                headers = {**srv.headers, "Origin": base.replace("ws://", "http://")}
                # The bots exist (and the relay knows them) before either case.
                asyncio.run(publish(url, bench.keys.prefix, args.bots, args.rate, 2.0))
                for name, path in (("overview", "/ws/overview/"), ("one bot's page", "/ws/bots/bot-00/")):
                    cases.append(asyncio.run(measure(name, base + path, headers, srv.pids[0], bench, args.bots,
                                                     args.rate, args.seconds, args.sockets)))
        finally:
            bench.clean()
            if server is not None:
                server.stop()
    text = table(cases, args.bots, args.rate)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
