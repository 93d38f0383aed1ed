"""What one benchmark run measures: the result of a scenario, memory and CPU of the servers, the summary."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil

Scenario = tuple[int, int, float]
"""(clients, events per second, seconds)."""


@dataclass
class Result:
    """One scenario (or ramp step) on one implementation."""

    impl: str
    clients: int
    rate: int
    expected: int
    delivered: int
    duplicates: int
    in_order: bool
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_second: float
    """Deliveries per second of publishing (clients x rate when nothing is lost)."""
    rss_mb: list[float]
    """Peak RSS of each server process (MB)."""
    idle_kb_per_conn: float
    """RSS added per connected, idle client (KB), summed over the server processes."""
    trades_expected: int = 0
    trades_delivered: int = 0
    cpu_pct: float = 0.0
    """CPU the server processes used while publishing (% of one core, summed)."""
    refused: int = 0
    """Clients whose handshake failed (their events count as lost)."""
    capacity: bool = False
    """A step of the capacity ramp (trades only, rising rates), not one of the scenarios."""

    @property
    def lost(self) -> float:
        return 1 - self.delivered / self.expected if self.expected else 0.0


def rss_of(proc: psutil.Process) -> int:
    """RSS of a process and its children (bytes; 0 once gone)."""
    try:
        return int(proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True)))
    except psutil.Error:
        return 0


def cpu_of(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of a process and its children (0 once gone)."""
    try:
        return sum(sum(p.cpu_times()[:2]) for p in (proc, *proc.children(recursive=True)))
    except psutil.Error:
        return 0.0


class Peak:
    """Samples the RSS of each server process (and its children) until stopped."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.peaks = [0] * len(pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.peaks = [max(peak, rss_of(proc)) for peak, proc in zip(self.peaks, self.procs, strict=True)]

    def done(self) -> list[float]:
        self.stop.set()
        self.thread.join()
        return [peak / 2**20 for peak in self.peaks]


def summarise(impl: str, scenario: Scenario, sent: dict[int, int], received: list[list[list[int]]],
              rss: list[float], idle_kb: float) -> Result:
    """Count what each client got (once, in order) and the publish→receive latencies."""
    clients, rate, duration = scenario
    latencies: list[float] = []
    delivered = duplicates = 0
    in_order = True
    for frames in received:
        last = 0
        seen: set[int] = set()
        for seq, at in frames:
            if seq not in sent:
                continue  # the opening snapshot
            if seq in seen:
                duplicates += 1
                continue
            seen.add(seq)
            delivered += 1
            latencies.append((at - sent[seq]) / 1e6)
            in_order = in_order and seq > last
            last = seq
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    return Result(impl, clients, rate, len(sent) * clients, delivered, duplicates, in_order, pct(0.5), pct(0.99),
                  latencies[-1] if latencies else float("nan"), delivered / duration, rss, idle_kb)
