"""Liveness keys with a TTL: present while a process is alive, gone soon after it dies."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.errors import TransportError

HEARTBEAT_INTERVAL = 1.0
HEARTBEAT_TTL_MS = 5_000


async def is_alive(redis: Redis, key: str) -> bool:
    """True while the heartbeat key exists. Raises TransportError (retryable) on failure."""
    try:
        return bool(await redis.exists(key))
    except (RedisError, OSError) as exc:
        raise TransportError(f"reading heartbeat {key}: {exc}") from exc
