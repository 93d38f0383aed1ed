"""Redis client construction with the timeouts every side of the contract needs."""

from __future__ import annotations

from redis.asyncio import Redis

COMMAND_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0


def connect(url: str, *, for_pubsub: bool = False) -> Redis:
    """Return an asyncio Redis client for `url` (a password in the URL is honoured).

    Pub/sub clients get no socket read timeout: redis-py 8 defaults it to 5 s, which would
    tear down an idle subscription. Liveness is checked with health-check PINGs instead.
    """
    return Redis.from_url(
        url,
        socket_timeout=None if for_pubsub else COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=10 if for_pubsub else 0,
        decode_responses=False,
    )
