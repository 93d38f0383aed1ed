"""The web process's view of the bot: Redis names, one asyncio Redis client per event loop, and
one blocking client for request threads (REST views)."""

from __future__ import annotations

import asyncio
import functools
from weakref import WeakKeyDictionary

import redis
from django.conf import settings
from redis.asyncio import Redis

from bot_api.keys import RedisKeys
from bot_api.redis_conn import RedisTarget, connect, connect_sync

_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = WeakKeyDictionary()


def bot_keys(bot_id: str | None = None) -> RedisKeys:
    """Redis names of one bot (default: the default bot, BOT_ID); raise ContractError for an id
    that is not one."""
    return RedisKeys(prefix=settings.REDIS_PREFIX, bot_id=bot_id or settings.BOT_ID)


def redis_target() -> RedisTarget:
    """Where this process finds Redis: REDIS_URL, or the master its Sentinels name."""
    return RedisTarget(url=settings.REDIS_URL, sentinels=settings.REDIS_SENTINELS,
                       master=settings.REDIS_SENTINEL_MASTER)


def redis_client() -> Redis:
    """The shared command client for the running event loop (a pool; safe to share)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = connect(redis_target())
        _clients[loop] = client
    return client


def sync_redis() -> redis.Redis:
    """The blocking client for REST views (its pool is thread-safe)."""
    return _sync_client(redis_target())


def health_redis() -> redis.Redis:
    """The blocking client of /api/health: one quick try, so the report comes within seconds even
    while Redis (or its master) is away, and a load balancer's check does not time out."""
    return _sync_client(redis_target(), quick=True)


@functools.lru_cache(maxsize=4)
def _sync_client(target: RedisTarget, *, quick: bool = False) -> redis.Redis:
    return connect_sync(target, quick=quick)
