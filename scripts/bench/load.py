"""The load process: N WebSocket clients that note (seq, receive time) of every frame, cheaply.

No JSON parsing on the receive path: the seq is cut out of the text, the time is the system-wide
monotonic clock (comparable with the publisher's). Clients ack like the dashboard does, so a server
with flow control does not drop them. Prints CONNECTED once every client is in; stops when a line
arrives on stdin (or after --duration) and then writes one JSON file of results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

ACK_EVERY = 200


def seq_of(raw: str) -> int | None:
    """The envelope's seq, read without parsing the JSON (None for frames without one)."""
    i = raw.find('"seq":')
    if i < 0:
        return None
    j = i + 6
    end = j
    while end < len(raw) and raw[end].isdigit():
        end += 1
    return int(raw[j:end]) if end > j else None


async def client(url: str, headers: dict[str, str], stop: asyncio.Event, received: list[tuple[int, int]],
                 connected: asyncio.Event, counter: list[int], total: int, ack: bool) -> None:
    async with connect(url, additional_headers=headers, max_size=None, compression=None,
                       open_timeout=60, ping_interval=None) as ws:
        counter[0] += 1
        if counter[0] >= total:
            connected.set()
        closer = asyncio.create_task(close_on(stop, ws))
        try:
            await read(ws, received, ack)
        finally:
            closer.cancel()


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
        text = raw if isinstance(raw, str) else raw.decode()
        seq = seq_of(text)
        if seq is None:
            continue
        received.append((seq, now))
        last = seq
        since_ack += 1
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
    counter = [0]
    results: list[list[tuple[int, int]]] = [[] for _ in range(args.clients)]
    tasks = []
    for i in range(args.clients):
        tasks.append(asyncio.create_task(client(args.url, headers, stop, results[i], connected, counter,
                                                args.clients, args.ack)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not stampede the handshake
    try:
        await asyncio.wait_for(connected.wait(), 60)
        print("CONNECTED", flush=True)  # the orchestrator starts publishing now
    except TimeoutError:
        print(f"CONNECTED only {counter[0]}", flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"clients": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--headers", default="{}")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ack", action="store_true")
    arguments = parser.parse_args()
    output = asyncio.run(main(arguments))
    with open(arguments.out, "w") as fh:
        json.dump(output, fh)
