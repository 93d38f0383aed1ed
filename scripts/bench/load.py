"""The load process: N WebSocket clients that note (seq, receive time) of every frame, cheaply.

No JSON parsing on the receive path: the seqs are cut out of the text (a frame may batch
several), the time is the system-wide monotonic clock (comparable with the publisher's). Clients
ack like the dashboard does, so a server with flow control does not drop them. Prints CONNECTED
once every client is in; stops when a line arrives on stdin (or after --duration) and then
writes one JSON file of results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

ACK_EVERY = 200


def seqs_of(raw: str) -> list[int]:
    """The seqs of the envelopes in a frame (one, or an array batch), read without parsing the JSON."""
    seqs = []
    i = raw.find('"seq":')
    while i >= 0:
        j = end = i + 6
        while end < len(raw) and raw[end].isdigit():
            end += 1
        if end > j:  # "seq":null is a frame made by the server, not a bot event
            seqs.append(int(raw[j:end]))
        i = raw.find('"seq":', end)
    return seqs


async def client(url: str, headers: dict[str, str], stop: asyncio.Event, received: list[tuple[int, int]],
                 connected: asyncio.Event, counter: list[int], total: int, ack: bool, first_frame: bool) -> None:
    """One client: connect (counted as connected or failed), then read until told to stop."""
    # A browser's Origin: the page's own scheme, host and port.
    origin = "http://" + urlsplit(url).netloc
    ws: ClientConnection | None = None
    try:
        ws = await connect(url, additional_headers={"Origin": origin, **headers}, max_size=None,
                           compression=None, open_timeout=60, ping_interval=None)
        if first_frame:
            # Ours sends the snapshot first: a client counts as in once it has it, or the first
            # events would be measured against a socket still being set up.
            await asyncio.wait_for(ws.recv(), 90)
    except Exception:  # noqa: BLE001 - refused or timed out: counted, the run goes on without it
        counter[1] += 1
        if ws is not None:
            await ws.close()
            ws = None
    else:
        counter[0] += 1
    if sum(counter) >= total:
        connected.set()
    if ws is None:
        return
    closer = asyncio.create_task(close_on(stop, ws))
    try:
        await read(ws, received, ack)
    finally:
        closer.cancel()
        await ws.close()


async def close_on(stop: asyncio.Event, ws: ClientConnection) -> None:
    """Close the connection when told to stop (which ends its read loop)."""
    await stop.wait()
    await ws.close()


async def read(ws: ClientConnection, received: list[tuple[int, int]], ack: bool) -> None:
    # A plain `async for`: a timeout per frame would cost a task per frame and measure the client.
    since_ack = 0
    last = 0
    async for raw in ws:
        now = time.monotonic_ns()
        seqs = seqs_of(raw if isinstance(raw, str) else raw.decode())
        if not seqs:
            continue
        received.extend((seq, now) for seq in seqs)
        last = seqs[-1]
        since_ack += len(seqs)
        if ack and since_ack >= ACK_EVERY:
            since_ack = 0
            await ws.send(json.dumps({"command": "ack", "seq": last}))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    headers = json.loads(args.headers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(stop.set)))
    loop.call_later(args.duration, stop.set)
    connected = asyncio.Event()
    counter = [0, 0]  # connected, failed
    results: list[list[tuple[int, int]]] = [[] for _ in range(args.clients)]
    tasks = []
    for i in range(args.clients):
        url = args.url[(i + args.offset) % len(args.url)]  # the clients take the servers in turn
        tasks.append(asyncio.create_task(client(url, headers, stop, results[i], connected, counter,
                                                args.clients, args.ack, args.first_frame)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not stampede the handshake
    try:
        await asyncio.wait_for(connected.wait(), 90)
        # The orchestrator starts publishing now.
        print("CONNECTED" if not counter[1] else f"CONNECTED only {counter[0]} ({counter[1]} failed)", flush=True)
    except TimeoutError:
        print(f"CONNECTED only {counter[0]}", flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"clients": results, "failed": counter[1]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", action="append", required=True, help="repeatable: clients take them in turn")
    parser.add_argument("--offset", type=int, default=0, help="the URL the first client takes")
    parser.add_argument("--headers", default="{}")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ack", action="store_true")
    parser.add_argument("--first-frame", action="store_true", help="in once the server's first frame arrived")
    arguments = parser.parse_args()
    output = asyncio.run(main(arguments))
    with open(arguments.out, "w") as fh:
        json.dump(output, fh)
