"""A client that stops reading for 30 s while 500 events/s flow: bounded memory, others unaffected."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.faults import stop_bot
from tests.e2e.wsclient import envelopes, of_type, read_until
from tests.stack import Browserless, Stack, delete_prefix, rss_kib, running_stack

pytestmark = pytest.mark.e2e

STALL_SECONDS = 30


async def read_latencies(ws: ClientConnection, seconds: float, out: list[float]) -> None:
    """Read (and ack) like the page does, recording publish→receive latency of prices in ms: an
    ack after 100 events, or a second after the first unacknowledged one."""
    reader = envelopes(ws)
    deadline = time.monotonic() + seconds
    count, last, acked, since = 0, 0, 0, 0.0
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await asyncio.wait_for(reader.next(), min(left, 0.25))
        except TimeoutError:
            frame = None
        if frame is not None:
            if frame["type"] == "price_update":
                out.append((time.time() - datetime.fromisoformat(frame["ts"]).timestamp()) * 1000)
            count += 1
            if frame["seq"] is not None:
                last, since = frame["seq"], since or time.monotonic()
        if last > acked and (count % 100 == 0 or time.monotonic() - since >= 1):
            await ws.send(json.dumps({"command": "ack", "seq": last}))
            acked, since = last, 0.0


async def test_a_stalled_client_is_cut_off_and_costs_the_others_nothing(redis_url: str, tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path, TICK_INTERVAL="0.004") as stack:
            await _scenario(stack)
    finally:
        delete_prefix(redis_url, prefix)


async def _scenario(stack: Stack) -> None:
    session = Browserless(stack.base_url)
    await asyncio.to_thread(session.login)
    web_pid = stack.processes["web"].pid
    headers = session.ws_headers()
    async with connect(stack.ws_url, additional_headers=headers, open_timeout=10) as good:
        await read_until(good, of_type("status"), 5)
        # Warm up until the snapshot has its full 50 recent trades, then stop trading: before and
        # during then measure the same steady state (250 prices a second and a large snapshot), and
        # only the stalled client differs. (A bot trading on each of 250 ticks a second falls behind
        # on a slow 2-core machine, and its own growing lag would be measured instead.)
        await read_latencies(good, 8, [])
        await stop_bot(stack)
        await read_latencies(good, 6, [])  # the bot's backlog drains
        baseline: list[float] = []
        await read_latencies(good, 5, baseline)
        rss_before = rss_kib(web_pid)

        # A client that reads nothing: its library stops reading after one frame, so TCP and then
        # the server's buffers fill (and the server's send waits: the consumer's queue overflows).
        stalled = await connect(stack.ws_url, additional_headers=headers, open_timeout=10, max_queue=1)
        during: list[float] = []
        peak = rss_before
        reader = asyncio.create_task(read_latencies(good, STALL_SECONDS, during))
        while not reader.done():
            peak = max(peak, rss_kib(web_pid))
            await asyncio.sleep(0.5)
        await reader
        stalled.transport.abort()

    assert len(baseline) > 400 and len(during) > 2000, (len(baseline), len(during))
    base_p50, during_p50 = statistics.median(baseline), statistics.median(during)
    print(f"\nlatency p50 before {base_p50:.2f} ms, during {during_p50:.2f} ms; "
          f"web RSS before {rss_before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB")
    assert "closing a lagging socket" in stack.log("web"), "the stalled client was never cut off"
    assert peak - rss_before < 8 * 1024, "memory grew with the stalled client's backlog"
    # Within 2x of normal (plus 5 ms for scheduling noise on a shared 2-core machine).
    assert during_p50 <= 2 * base_p50 + 5, (base_p50, during_p50)
