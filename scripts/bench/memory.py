"""What an idle viewer holds: the production web server in this process under tracemalloc, a
few warm-up clients, then N clients connected and idle; the Python memory they added, per
connection, by where it was allocated (package, then line). Started by `make bench` (`--memory`)
with the benchmark's environment (Redis, key prefix, database with a logged-in session).

    python -m scripts.bench.memory --port P --clients 1000 --headers '{"Cookie": "sessionid=..."}'

RSS counts more than this: memory outside Python's allocator (uvloop's and httptools' buffers,
the kernel's socket buffers are not RSS at all) and the allocator's own slack.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import uvicorn

from crypto_bot_ui.serve import APP, uvicorn_options

ROOT = Path(__file__).resolve().parents[2]
WARM_UP = 5
DEPTH = int(os.environ.get("BENCH_MEMORY_DEPTH", "1"))
"""Frames per allocation kept (more: each top line's callers are printed too)."""


def area(filename: str) -> str:
    """Where an allocation was made: a package, our code, or the standard library's module."""
    path = filename.replace("\\", "/")
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for ours in ("crypto_bot_ui", "bot_api"):
        if f"/{ours}/" in path:
            return ours
    return "stdlib: " + path.rsplit("/", 1)[-1]


def connect(url: str, headers: str, clients: int) -> subprocess.Popen[str]:
    """A load process with `clients` idle clients; returns once they are all in."""
    load = subprocess.Popen([sys.executable, "-m", "scripts.bench.load", "--url", url, "--headers", headers,
                             "--clients", str(clients), "--duration", "600", "--out", "/dev/null", "--first-frame"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if load.stdout is None or not load.stdout.readline().startswith("CONNECTED"):
        raise RuntimeError("the load process did not connect")
    return load


def stop(load: subprocess.Popen[str]) -> None:
    """Close the load process's clients."""
    if load.stdin is not None:
        load.stdin.write("stop\n")
        load.stdin.flush()
    load.wait(60)


def measure(server: uvicorn.Server, url: str, headers: str, clients: int, top: int) -> None:
    """Warm up, connect `clients`, print what they added (runs beside the server's loop)."""
    while not server.started:
        time.sleep(0.05)
    try:
        stop(connect(url, headers, WARM_UP))  # what the first sockets load once is not a socket's cost
        time.sleep(0.5)
        gc.collect()
        before = tracemalloc.take_snapshot()
        load = connect(url, headers, clients)
        try:
            time.sleep(1)
            gc.collect()
            after = tracemalloc.take_snapshot()
            report(after.compare_to(before, "lineno"), clients, top)
            if DEPTH > 1:
                for diff in sorted(after.compare_to(before, "traceback"), key=lambda d: -d.size_diff)[:top]:
                    print(f"\n{diff.size_diff / clients / 1024:.2f} KB:")
                    for frame in diff.traceback:
                        print(f"    {frame.filename.split('/site-packages/')[-1]}:{frame.lineno}")
        finally:
            stop(load)
    finally:
        server.should_exit = True


def report(diffs: list[tracemalloc.StatisticDiff], clients: int, top: int) -> None:
    """Per connection: the total, by area, and the lines that added the most."""
    areas: Counter[str] = Counter()
    for diff in diffs:
        areas[area(diff.traceback[0].filename)] += diff.size_diff
    total = sum(areas.values())
    print(f"Python memory added by {clients} idle connections: {total / clients / 1024:.1f} KB each")
    print("\n| where | KB per connection |\n|---|---|")
    for name, size in areas.most_common():
        if size / clients >= 100:
            print(f"| {name} | {size / clients / 1024:.2f} |")
    print("\n| line | KB per connection |\n|---|---|")
    for diff in sorted(diffs, key=lambda d: -d.size_diff)[:top]:
        frame = diff.traceback[0]
        where = frame.filename.split("/site-packages/")[-1].split(f"{ROOT.name}/")[-1]
        print(f"| `{where}:{frame.lineno}` | {diff.size_diff / clients / 1024:.2f} |")


def main() -> None:
    """Serve under tracemalloc until the measuring thread is done."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--headers", default="{}", help="JSON: the clients' session cookie")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    json.loads(args.headers)  # refused here rather than by every client
    tracemalloc.start(DEPTH)
    server = uvicorn.Server(uvicorn.Config(APP, **uvicorn_options(host="127.0.0.1", port=args.port)))  # type: ignore[arg-type]
    url = f"ws://127.0.0.1:{args.port}/ws/dashboard/"
    threading.Thread(target=measure, args=(server, url, args.headers, args.clients, args.top), daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
