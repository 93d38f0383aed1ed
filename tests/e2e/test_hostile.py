"""The attack run's findings, replayed against the real stack: garbage in Redis loses no trade and
stops nothing; no viewer can grow the web process by what it sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bot_api.keys import RedisKeys
from tests.e2e.faults import Scenario, published_seq
from tests.e2e.wsclient import envelopes, of_type, read_until
from tests.stack import Browserless, Stack, delete_prefix, rss_kib, running_stack, wait_for

pytestmark = pytest.mark.e2e

FLOOD_SECONDS = 60


@pytest.mark.pg
async def test_junk_in_the_events_stream_loses_no_trade(scenario: Scenario) -> None:
    """An attack run's XADDs made the bot's seq jump to the time in ms and the outbox skip pending
    events (4 trades lost in 198 junk entries); the seq must stay the bot's own."""
    env = scenario.stack.env
    keys = RedisKeys(prefix=env["REDIS_PREFIX"])
    client = redis.Redis.from_url(env["REDIS_URL"])
    other_bot = {"v": 1, "type": "price_update", "seq": 10**12, "ts": "2026-01-01T00:00:00Z", "bot": "other",
                 "data": {"symbol": "BTCUSDT", "price": "1"}}
    junk = [b"garbage", json.dumps(other_bot).encode(), b"{}", b"\xff" * 64]
    try:
        for n in range(200):
            client.xadd(keys.events_stream, {"e": junk[n % len(junk)]})
            if n % 40 == 39:
                await scenario.trades(1)  # junk lands between real trades
    finally:
        client.close()
    assert await published_seq(scenario.stack) < 10**9, "the seq jumped: it was taken from the junk"
    assert "removed" in scenario.stack.log("bot") and "foreign entries" in scenario.stack.log("bot")
    await scenario.finish()  # the database holds exactly the bot's ledger; the page equals a fresh one


@pytest.mark.pg
async def test_a_poison_trade_is_dead_lettered_and_nothing_stops(scenario: Scenario) -> None:
    """A valid-looking trade with seq 2**63 stopped the recorder (and with it the whole stack) on
    every start; now it and a 1E+40 trade go to the dead letters and every process keeps running."""
    stack = scenario.stack
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    template = {"v": 1, "type": "trade_executed", "seq": 2**63, "ts": "2026-01-01T00:00:00Z", "bot": "main",
                "data": {"trade_id": "poison", "symbol": "BTCUSDT", "side": "buy", "qty": "1", "price": "1",
                         "quote_qty": "1", "fee": "0", "fee_asset": "USDT", "realized_pnl": "0",
                         "executed_at": "2026-01-01T00:00:00Z"}}
    huge = json.loads(json.dumps(template))
    huge["seq"], huge["data"]["trade_id"], huge["data"]["qty"] = 7, "huge", "1E+40"
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        for poison in (template, huge):
            client.xadd(keys.trades_stream, {"e": json.dumps(poison)})
        await scenario.trades(3)
        letters = await asyncio.to_thread(
            wait_for, lambda: len(client.xrange(keys.dead_letter_stream)) == 2 or None, 20, "two dead letters")
        assert letters
        reasons = [fields[b"reason"].decode() for _id, fields in client.xrange(keys.dead_letter_stream)]
        assert all(reason.startswith("off-contract") for reason in reasons), reasons
    finally:
        client.close()
    health = stack.health()
    assert health is not None and health["dead_letters"] == 2 and health["recorder"] == "ok"
    for name in ("bot", "recorder", "web"):
        assert stack.processes[name].poll() is None, f"{name} died"
    # What was stored reads back: the API and the CSV (which hung after its header) answer whole.
    for path in ("/api/trades", "/api/equity", "/api/health"):
        status, _body = await asyncio.to_thread(scenario.session.get, path)
        assert status == 200, path
    status, body = await asyncio.to_thread(scenario.session.get, "/api/trades.csv")
    assert status == 200 and body.startswith("executed_at,") and "# export incomplete" not in body
    assert "poison" not in body and "huge" not in body
    # A restart meets nothing pending: it starts cleanly and keeps recording.
    assert await asyncio.to_thread(stack.stop, "recorder") == 0
    stack.start("recorder")
    await scenario.trades(3)
    assert "Traceback" not in stack.log("recorder")
    await scenario.finish()


async def _flood(stack: Stack, session: Browserless, latest: list[int], stop: asyncio.Event) -> int:
    """One viewer's worst: resume from far back every 1.05 s and ack events never sent, reading
    nothing, reconnecting whenever cut off. Returns how many sockets it went through."""
    sockets = 0
    while not stop.is_set():
        try:
            # max_queue=1: the library stops reading, so TCP and then the server's buffers fill.
            ws: ClientConnection = await connect(stack.ws_url, additional_headers=session.ws_headers(),
                                                 max_queue=1, open_timeout=10)
        except (OSError, InvalidStatus, TimeoutError):
            await asyncio.sleep(0.5)
            continue
        sockets += 1
        try:
            while not stop.is_set():
                await ws.send(json.dumps({"command": "resume", "last_seq": max(latest[0] - 4900, 0),
                                          "id": uuid.uuid4().hex[:8]}))
                await ws.send(json.dumps({"command": "ack", "seq": 2**53 - 1}))
                # A smarter liar: acks the seqs it can predict (they are public) without reading.
                await ws.send(json.dumps({"command": "ack", "seq": latest[0]}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.05)
        except ConnectionClosed:
            pass
        finally:
            ws.transport.abort()
    return sockets


async def test_a_resume_flood_and_fake_acks_leave_the_web_process_bounded(redis_url: str, tmp_path: Path) -> None:
    """An attack run took Daphne (it buffers without limit) from 146 to 942 MiB in 60 s this way
    (and kept 1.68 GiB)."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path, TICK_INTERVAL="0.004") as stack:
            session = Browserless(stack.base_url)
            await asyncio.to_thread(session.login)
            web = stack.processes["web"].pid
            async with connect(stack.ws_url, additional_headers=session.ws_headers(), open_timeout=10) as good:
                await read_until(good, of_type("status"), 10)
                reader = envelopes(good)
                latest = [0]
                stop = asyncio.Event()

                async def keep_reading() -> int:
                    """Read and ack like the page: after 100 events, or 1 s after the first unacked one."""
                    count, acked, since = 0, 0, 0.0
                    loop = asyncio.get_running_loop()
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            frame = await asyncio.wait_for(reader.next(), 0.25)
                            count += 1
                            if frame.get("seq"):
                                latest[0] = max(latest[0], frame["seq"])
                                since = since or loop.time()
                        if latest[0] > acked and (count % 100 == 0 or loop.time() - since >= 1):
                            await good.send(json.dumps({"command": "ack", "seq": latest[0]}))
                            acked, since = latest[0], 0.0
                    return count

                good_task = asyncio.create_task(keep_reading())
                await asyncio.to_thread(wait_for, lambda: latest[0] > 5000 or None, 60, "5,000 events to replay")
                before = peak = rss_kib(web)
                flooders = [asyncio.create_task(_flood(stack, session, latest, stop)) for _ in range(2)]
                deadline = asyncio.get_running_loop().time() + FLOOD_SECONDS
                while asyncio.get_running_loop().time() < deadline:
                    peak = max(peak, rss_kib(web))
                    await asyncio.sleep(0.5)
                stop.set()
                sockets = sum(await asyncio.gather(*flooders))
                received = await good_task
        print(f"\n  web RSS before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB over {FLOOD_SECONDS} s; "
              f"the flooders went through {sockets} sockets; the good client got {received} frames")
        log = stack.log("web")
        assert "closing a lagging socket" in log, "no flooding socket was ever cut off"
        assert peak - before < 50 * 1024, f"the web process grew {(peak - before) / 1024:.0f} MiB"
        assert received > FLOOD_SECONDS * 100, "the good client was starved"
    finally:
        delete_prefix(redis_url, prefix)

