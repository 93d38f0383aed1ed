"""The benchmark's figures as text: a console line, the Markdown tables, the targets, the profile, the plot."""

from __future__ import annotations

import os
import platform
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.bench.frames import FrameSizes
    from scripts.bench.measure import Result

START, END = "<!-- bench:results -->", "<!-- /bench:results -->"
AREAS = [
    ("WebSocket framing and Twisted transport (autobahn, twisted, txaio)", ("autobahn", "twisted", "txaio")),
    ("Daphne (ASGI server glue)", ("daphne",)),
    ("Uvicorn and websockets (ASGI server, WebSocket framing)", ("uvicorn", "websockets", "httptools")),
    ("uvloop (event loop)", ("uvloop",)),
    ("Channels consumer machinery", ("channels", "asgiref")),
    ("our relay and consumer", ("crypto_bot_ui", "bot_api")),
    ("Redis client (pub/sub reads)", ("redis",)),
    ("asyncio event loop", ("asyncio",)),
    ("JSON / pydantic", ("json", "pydantic")),
]


def line(r: Result) -> str:
    """One result for the console."""
    return (f"{r.impl:8} {r.clients:5} x {r.rate:5}/s: {r.delivered}/{r.expected} lost {r.lost:.1%} "
            f"(trades {r.trades_delivered}/{r.trades_expected}) dup {r.duplicates} p50 {r.p50_ms:.1f} ms "
            f"p99 {r.p99_ms:.1f} ms max {r.max_ms:.1f} ms, {r.per_second:,.0f}/s, server CPU {r.cpu_pct:.0f}%, "
            f"RSS {'+'.join(f'{m:.0f}' for m in r.rss_mb)} MB, idle {r.idle_kb_per_conn:.0f} KB/conn"
            f"{f', {r.refused} handshakes refused' if r.refused else ''}"
            f"{'' if r.in_order else ', OUT OF ORDER'}")


def table(results: list[Result]) -> str:
    """Every result as a Markdown table, with our figures as ratios to the floor and the baseline."""
    lines = ["| scenario | implementation | delivered | lost (trades lost) | dup | refused | p50 ms | p99 ms | "
             "max ms | deliveries/s | server CPU | peak RSS MB | idle KB/conn | p99 vs floor | "
             "deliveries vs textbook |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r.impl, r.clients, r.rate): r for r in results if not r.capacity}
    for r in sorted(by.values(), key=lambda r: (-r.rate * r.clients, r.clients, r.impl)):
        floor, textbook = by.get(("floor", r.clients, r.rate)), by.get(("textbook", r.clients, r.rate))
        ours = r.impl.startswith("ours")
        vs_floor = f"{r.p99_ms / floor.p99_ms:.2f}x" if ours and floor and floor.p99_ms else ""
        vs_text = f"{r.per_second / textbook.per_second:.1f}x" if ours and textbook and textbook.per_second else ""
        lines.append(
            f"| {r.clients} x {r.rate}/s | {r.impl} | {r.delivered}/{r.expected} | {r.lost:.1%} "
            f"({r.trades_expected - r.trades_delivered}) | {r.duplicates} | {r.refused} | {r.p50_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.max_ms:.1f} | {r.per_second:,.0f} | {r.cpu_pct:.0f}% | "
            f"{' + '.join(f'{m:.0f}' for m in r.rss_mb)} | "
            f"{r.idle_kb_per_conn:.0f} | {vs_floor} | {vs_text} |")
    return "\n".join(lines)


SERVERS = {
    "floor": "the floor (`websockets.broadcast`, no application)",
    "ours": "Uvicorn (uvloop, httptools, `websockets` sans-I/O): production",
    "ours-daphne": "Daphne: supported (`WEB_SERVER=daphne`, `runserver`)",
    "ours-granian": "Granian (ASGI, uvloop): measured only, it cannot cap a frame's size",
}
"""Our application under each ASGI server, beside the floor, for the server comparison."""


def servers_table(results: list[Result]) -> str:
    """The same application under each ASGI server: p99 per scenario, CPU and idle memory at 1,000."""
    by = {(r.impl, r.clients, r.rate): r for r in results if not r.capacity}
    scenarios = sorted({(r.clients, r.rate) for r in by.values()}, key=lambda s: (-s[0], s[1]))
    head = " | ".join(f"p99 {c:,} x {r}/s" for c, r in scenarios)
    lines = [f"| server | {head} | server CPU, 1,000 | idle KB/conn, 1,000 |",
             "|---|" + "---|" * (len(scenarios) + 2)]
    for impl, name in SERVERS.items():
        if not any(key[0] == impl for key in by):
            continue
        cells = []
        for clients, rate in scenarios:
            r = by.get((impl, clients, rate))
            cells.append("" if r is None else f"{r.p99_ms:.1f} ms" + ("" if r.lost == 0 else f" ({r.lost:.1%} lost)"))
        thousand = by.get((impl, 1000, 10))
        cpu = f"{thousand.cpu_pct:.0f}%" if thousand else ""
        idle = f"{thousand.idle_kb_per_conn:.0f}" if thousand else ""
        lines.append(f"| {name} | {' | '.join(cells)} | {cpu} | {idle} |")
    return "\n".join(lines)


SCALE_ROWS = {
    "ours": "1 process",
    "ours-2": "2 processes, clients split between them",
    "ours-3": "3 processes, clients split between them",
    "ours-lb": "2 processes behind HAProxy (one address)",
}
"""The scale-out line: the same 1,000 clients x 10 events/s on more web processes."""


def scale_table(results: list[Result]) -> str:
    """1,000 x 10/s on one, two and three web processes (and two behind the balancer); a run
    without that scenario (--quick) shows the one its scale-out variants ran."""
    runs = [r for r in results if not r.capacity and r.impl in SCALE_ROWS]
    scenario = (1000, 10) if any((r.clients, r.rate) == (1000, 10) for r in runs) else next(
        ((r.clients, r.rate) for r in runs if r.impl in ("ours-3", "ours-lb")), None)
    by = {r.impl: r for r in runs if (r.clients, r.rate) == scenario}
    rows = [(name, by[impl]) for impl, name in SCALE_ROWS.items() if impl in by]
    if len(rows) < 2:
        return ""
    lines = ["| web processes | delivered | dup | p50 ms | p99 ms | server CPU (all processes) | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r.delivered}/{r.expected} | {r.duplicates} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                     f"{r.cpu_pct:.0f}% | {' + '.join(f'{m:.0f}' for m in r.rss_mb)} |")
    return "\n".join(lines)


SUSTAINED_P99_MS = 250.0
"""A rate is sustained when nothing is lost and p99 stays under this: a live screen, not a backlog."""


def sustained(r: Result) -> bool:
    """Whether a ramp step was kept up with: every event delivered, p99 within SUSTAINED_P99_MS."""
    return r.delivered == r.expected and r.p99_ms <= SUSTAINED_P99_MS


def capacity(results: list[Result]) -> dict[str, Result]:
    """Per implementation, the ramp's fastest sustained step (its capacity at zero loss)."""
    best: dict[str, Result] = {}
    for r in results:
        if r.capacity and sustained(r) and r.rate > getattr(best.get(r.impl), "rate", 0):
            best[r.impl] = r
    return best


def capacity_table(results: list[Result]) -> str:
    """The capacity ramp: each step per implementation, and the fastest one with nothing lost."""
    steps = [r for r in results if r.capacity]
    if not steps:
        return ""
    best = capacity(results)
    lines = ["| implementation | steps (events/s to 100 clients: delivered, p99) | capacity at zero loss, p99 ≤ 250 ms "
             "| p99 there |",
             "|---|---|---|---|"]
    for impl in dict.fromkeys(r.impl for r in steps):
        ramp = ", ".join(f"{r.rate}: {r.delivered / r.expected:.0%}, {r.p99_ms:.0f} ms"
                         for r in steps if r.impl == impl)
        top = best.get(impl)
        lines.append(f"| {impl} | {ramp} | {f'{top.per_second:,.0f} deliveries/s' if top else 'none'} | "
                     f"{f'{top.p99_ms:.1f} ms' if top else ''} |")
    return "\n".join(lines)


def targets(results: list[Result], frames: FrameSizes | None = None) -> str:
    """The issue's targets (ratios to the floor in the same run), each met or missed with the figure."""
    by = {(r.impl, r.clients, r.rate): r for r in results if not r.capacity}
    rows = ["| target | measured | met |", "|---|---|---|"]

    def row(text: str, measured: str, ok: bool) -> None:
        rows.append(f"| {text} | {measured} | {'yes' if ok else '**no**'} |")

    def vs_floor(impl: str, clients: int, rate: int, most: float, text: str, *, trades_only: bool = False,
                 floor_of: tuple[int, int] | None = None) -> None:
        r, floor = by.get((impl, clients, rate)), by.get(("floor", *(floor_of or (clients, rate))))
        if r is None or floor is None or not floor.p99_ms:
            return
        lost = r.trades_expected - r.trades_delivered if trades_only else r.expected - r.delivered
        ratio = r.p99_ms / floor.p99_ms
        row(text, f"{'trades ' if trades_only else ''}lost {lost}, dup {r.duplicates}, p99 {r.p99_ms:.1f} ms vs "
                  f"floor {floor.p99_ms:.1f} ms ({ratio:.2f}x)", not lost and not r.duplicates and ratio <= most)

    vs_floor("ours", 1000, 10, 1.1, "1,000 x 10/s, one web process: 0 lost, p99 ≤ 1.1x the floor's")
    vs_floor("ours", 100, 200, 1.5, "100 x 200/s: 0 lost, p99 ≤ 1.5x the floor's")
    vs_floor("ours-2", 1000, 10, 1.0, "1,000 x 10/s on 2 web processes: 0 lost, no duplicates, p99 ≤ the floor's")
    vs_floor("ours", 10, 2000, 1.0, "10 x 2,000/s: 0 trades lost (prices may be conflated), p99 ≤ the floor's",
             trades_only=True)
    if r := by.get(("ours", 1000, 10)):
        row("idle connections: ≤ 30 KB RSS each at 1,000", f"{r.idle_kb_per_conn:.0f} KB", r.idle_kb_per_conn <= 30)
    if frames is not None:
        row("bytes per trade per socket after the first status: ≤ 2 KB",
            f"{frames.per_trade_bytes:,.0f} B (was {frames.per_trade_before:,.0f} B: "
            f"{frames.per_trade_before / frames.per_trade_bytes:.1f}x less)", frames.per_trade_bytes <= 2048)
    best = capacity(results)
    if "ours" in best and any(r.capacity and r.impl == "textbook" for r in results):
        ours, textbook = best["ours"], best.get("textbook")
        if textbook is not None:
            ratio, theirs = ours.per_second / textbook.per_second, f"{textbook.per_second:,.0f}/s"
        else:  # it lost events everywhere: compare with the most it delivered in any run, lossy as it was
            most = max((r for r in results if r.impl == "textbook"), key=lambda r: r.per_second)
            ratio = ours.per_second / most.per_second if most.per_second else float("inf")
            theirs = (f"at most {most.per_second:,.0f}/s ({most.clients} x {most.rate}/s, {most.lost:.0%} lost), "
                      "never without loss")
        row("≥ 10x the textbook's deliveries/s at zero loss (capacity ramp)",
            f"{ours.per_second:,.0f}/s vs {theirs}: {ratio:.0f}x", ratio >= 10)
    return "\n".join(rows)


def hot_spots(raw: str, top: int = 12) -> str:
    """Where a py-spy profile (raw collapsed stacks) spends its samples: by area, then by function (self time)."""
    leaves: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for entry in raw.splitlines():
        stack, _, count = entry.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = stack.rsplit(";", 1)[-1]
        leaves[re.sub(r":\d+\)$", ")", leaf)] += n
        # An area is the innermost frame that belongs to a known package (C calls inherit it).
        areas[next((name for frame in reversed(stack.split(";")) for name, pkgs in AREAS
                    if any(f"/{pkg}/" in frame or f"({pkg}/" in frame for pkg in pkgs)), "other")] += n
    if not total:
        return "(no samples)"
    out = [f"{total} samples of busy time", "", "| area | share |", "|---|---|"]
    out += [f"| {name} | {n / total:.0%} |" for name, n in areas.most_common()]
    out += ["", "| function (self time) | share |", "|---|---|"]
    out += [f"| `{short(name)}` | {n / total:.1%} |" for name, n in leaves.most_common(top)]
    return "\n".join(out)


def short(frame: str) -> str:
    """`function (path)` with the path cut after site-packages or the project root."""
    return re.sub(r"\((?:.*/site-packages/|.*/lib/python3\.\d+/|.*/work/[^/]+/)?", "(", frame)


SHORT = {"ours": "ours (uvicorn)", "ours-daphne": "daphne", "ours-granian": "granian"}
"""The plot's names for our variants (the table's are longer)."""


def plot(results: list[Result], path: Path) -> None:
    """Latency percentiles per scenario, ours vs the others, on a log scale."""
    import matplotlib  # a dev dependency: imported only when the docs are written

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    results = [r for r in results if not r.capacity]
    scenarios = sorted({(r.clients, r.rate) for r in results}, key=lambda s: -s[0] * s[1])
    impls = [i for i in ("ours", "ours-daphne", "ours-granian", "ours-2", "ours-3", "ours-lb", "floor", "textbook")
             if any(r.impl == i for r in results)]
    by = {(r.impl, r.clients, r.rate): r for r in results}
    fig, axes = plt.subplots(1, len(scenarios), figsize=(4.6 * len(scenarios), 4.4), squeeze=False)
    for ax, (clients, rate) in zip(axes[0], scenarios, strict=True):
        for i, impl in enumerate(impls):
            r = by.get((impl, clients, rate))
            if r is None:
                continue
            ax.bar(i - 0.2, r.p50_ms, 0.4, color=f"C{i}", alpha=0.55, label="p50" if i == 0 else None)
            ax.bar(i + 0.2, r.p99_ms, 0.4, color=f"C{i}", label="p99" if i == 0 else None)
            ax.text(i + 0.2, r.p99_ms, f"{r.p99_ms:.0f}" if r.p99_ms >= 10 else f"{r.p99_ms:.1f}", ha="center",
                    va="bottom", fontsize=8)
        ax.set_xticks(range(len(impls)), [SHORT.get(impl, impl) for impl in impls], rotation=30, ha="right")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{clients} clients x {rate} events/s", fontsize=10)
        ax.set_ylabel("publish → receive, ms (p50 light, p99 dark)")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    """The machine the figures come from."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else model
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def write_docs(results: list[Result], profiles: dict[str, str], docs: Path, frames: FrameSizes | None = None,
               memory: str = "") -> None:
    """Replace the results block of docs/benchmarks.md and redraw its plot."""
    plot(results, docs / "img" / "benchmarks.png")
    block = [START, "", f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, by `make bench`.", "",
             "![latency per scenario](img/benchmarks.png)", "", "### Results", "", table(results), "",
             "### The ASGI server", "", servers_table(results), ""]
    if scale := scale_table(results):
        block += ["### Scale-out", "", "1,000 clients x 10 events/s, the same run on more web processes "
                  "(each with its one Redis subscription); HAProxy's CPU and memory count with the servers'.",
                  "", scale, ""]
    if ramp := capacity_table(results):
        block += ["### Capacity at zero loss", "", ramp, ""]
    if frames is not None:
        block += ["### Bytes per trade", "", f"From the real engine ({frames.trades} paper trades on three symbols, "
                  f"`scripts/bench/frames.py`): the full status a socket gets first is {frames.status_bytes:,} bytes; "
                  f"each trade after it sends every socket {frames.per_trade_bytes:,.0f} bytes (its "
                  f"`trade_executed` and the `portfolio` after it), where a status after every fill sent "
                  f"{frames.per_trade_before:,.0f}.", ""]
    block += ["### Targets", "", targets(results, frames), ""]
    if memory:
        block += ["### What an idle connection holds", "", "`--memory`: tracemalloc in the production server",
                  "(scripts/bench/memory.py).", "", memory, ""]
    for name, hot in profiles.items():
        block += [f"### Profile: {name}", "", hot, ""]
    block.append(END)
    doc = docs / "benchmarks.md"
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    doc.write_text(before + "\n".join(block) + after)
