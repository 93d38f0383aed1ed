"""The floor: a plain `websockets` server relaying the bot's Redis channel with `websockets.broadcast`."""

from __future__ import annotations

import argparse
import asyncio

import websockets
from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, serve

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        async for _ in ws:  # acks and the like: read and dropped
            pass
    finally:
        CLIENTS.discard(ws)


async def relay(redis_url: str, channel: str) -> None:
    pubsub = Redis.from_url(redis_url).pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] == "message":
            websockets.broadcast(CLIENTS, message["data"].decode())


async def main(port: int, redis_url: str, channel: str) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**16, ping_interval=None):
        print("READY", flush=True)
        await relay(redis_url, channel)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--channel", required=True)
    a = parser.parse_args()
    asyncio.run(main(a.port, a.redis_url, a.channel))
