"""The textbook Channels bridge, as the baseline: a worker calls `RedisChannelLayer.group_send` for
every event, and each socket's consumer is a member of the group.

    daphne scripts.bench.textbook:application     # the sockets
    python -m scripts.bench.textbook REDIS_URL CHANNEL  # the worker
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crypto_bot_ui.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

GROUP = "bench"


class TextbookConsumer(AsyncWebsocketConsumer):
    """Joins the group; every group message is one frame."""

    async def connect(self) -> None:
        """Join the group, then accept."""
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the group."""
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def bench_event(self, event: dict[str, Any]) -> None:
        """Forward one event."""
        await self.send(text_data=event["raw"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", TextbookConsumer.as_asgi())])})


async def worker(redis_url: str, channel: str) -> None:
    """Subscribe to the bot's channel and group_send each event."""
    layer = get_channel_layer()
    assert layer is not None  # noqa: S101 - CHANNEL_LAYERS is configured
    pubsub = Redis.from_url(redis_url).pubsub()
    await pubsub.subscribe(channel)
    print("READY", flush=True)
    async for message in pubsub.listen():
        if message["type"] == "message":
            await layer.group_send(GROUP, {"type": "bench.event", "raw": message["data"].decode()})


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1], sys.argv[2]))
