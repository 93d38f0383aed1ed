"""Per-user command rate limit, shared by every web process (a sliding window in Redis)."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.errors import TransportError

COMMANDS_PER_WINDOW = 5
WINDOW_SECONDS = 10.0

# One script, so the check and the count are one step even with several web processes.
_SLIDING_WINDOW_LUA = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""


async def allow_command(redis: Redis, key: str, *, token: str, limit: int = COMMANDS_PER_WINDOW,
                        window: float = WINDOW_SECONDS) -> bool:
    """Count one command under `key`; False when `limit` were already counted in the last `window` s.

    Raises TransportError when Redis does not answer (the caller refuses the command: it could not
    have reached the bot either).
    """
    try:
        allowed = await redis.eval(_SLIDING_WINDOW_LUA, 1, key, time.time(), window, limit, token)
    except (RedisError, OSError) as exc:
        raise TransportError(f"counting a command failed: {exc}") from exc
    return bool(allowed)
