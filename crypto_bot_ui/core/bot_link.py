"""The web process's view of the bot: Redis names and one asyncio Redis client per event loop."""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from django.conf import settings
from redis.asyncio import Redis

from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect

_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = WeakKeyDictionary()


def bot_keys() -> RedisKeys:
    """Redis names of the bot this dashboard watches."""
    return RedisKeys(prefix=settings.REDIS_PREFIX, bot_id=settings.BOT_ID)


def redis_client() -> Redis:
    """The shared command client for the running event loop (a pool; safe to share)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = connect(settings.REDIS_URL)
        _clients[loop] = client
    return client
