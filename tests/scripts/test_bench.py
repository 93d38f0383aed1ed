"""`make bench` in small: a few clients for two seconds on each implementation, every event
delivered once and in order (trades: never conflated; the figures are the benchmark's business,
not a test's). Every ASGI server of the bench serves our application (Uvicorn, Daphne, Granian).
ours-2 and ours-3 are the horizontal case: two and three web processes, each with its own Redis
subscription, the clients split between them: none may get an event twice or miss one; ours-lb
puts two behind HAProxy (where it is installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import ROOT

pytestmark = pytest.mark.e2e


def test_the_benchmark_runs_and_loses_nothing(tmp_path: Path, redis_url: str) -> None:
    out = tmp_path / "bench.json"
    impls = ["ours", "ours-daphne", "ours-granian", "ours-2", "ours-3", "floor", "textbook"]
    if shutil.which("haproxy"):
        impls.insert(5, "ours-lb")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--quick", "--events", "trades", "--impl", ",".join(impls),
         "--json", str(out)],
        cwd=ROOT, env={**os.environ, "REDIS_URL": redis_url}, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(out.read_text())
    assert [r["impl"] for r in rows] == impls
    for row in rows:
        assert row["expected"] > 0 and row["delivered"] == row["expected"], row
        assert row["duplicates"] == 0 and row["in_order"], row
    assert len(rows[3]["rss_mb"]) == 2  # two web processes did serve ours-2
    assert len(rows[4]["rss_mb"]) == 3  # and three ours-3
    assert "| 3 processes" in result.stdout  # the scale-out line
    assert "| Uvicorn" in result.stdout and "| Daphne" in result.stdout  # the server comparison


def test_the_overview_benchmark_runs_and_its_sockets_hear_every_bot(redis_url: str) -> None:
    """`make bench`'s overview part in small: 3 bots, 2 sockets of each kind for a second."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench.overview", "--bots", "3", "--seconds", "1.5", "--sockets", "2"],
        cwd=ROOT, env={**os.environ, "REDIS_URL": redis_url}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2:5] for line in result.stdout.splitlines()
            if line.startswith("| 2 x")}
    assert set(rows) == {"2 x overview", "2 x one bot's page"}, result.stdout
    assert float(rows["2 x overview"][1]) > 0 and float(rows["2 x one bot's page"][1]) > 0  # envelopes heard
