"""Liveness keys with a TTL: present while a process is alive, gone soon after it dies."""

from __future__ import annotations

from redis.asyncio import Redis

HEARTBEAT_INTERVAL = 1.0
HEARTBEAT_TTL_MS = 5_000


async def beat(redis: Redis, key: str, *, value: str = "1", ttl_ms: int = HEARTBEAT_TTL_MS) -> None:
    """Refresh a heartbeat key. Raises RedisError on failure."""
    await redis.set(key, value, px=ttl_ms)


async def is_alive(redis: Redis, key: str) -> bool:
    """True while the heartbeat key exists. Raises RedisError on failure."""
    return bool(await redis.exists(key))
