"""Redis client construction with the timeouts every side of the contract needs."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import redis
from redis.asyncio import Redis

COMMAND_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
# A pub/sub connection has no read timeout, so a silently dead peer (no FIN, no RST) is only
# noticed through TCP keepalive: probes after 10 s idle, every 5 s, given up after 3 (~25 s).
_KEEPALIVE = {
    opt: value
    for opt, value in (
        (getattr(socket, "TCP_KEEPIDLE", None), 10),
        (getattr(socket, "TCP_KEEPINTVL", None), 5),
        (getattr(socket, "TCP_KEEPCNT", None), 3),
    )
    if opt is not None
}


def connect(url: str, *, for_pubsub: bool = False) -> Redis:
    """Return an asyncio Redis client for `url` (a password in the URL is honoured).

    Pub/sub clients get no socket read timeout: redis-py 8 defaults it to 5 s, which would
    tear down an idle subscription. Liveness is checked with TCP keepalive instead.
    """
    return Redis.from_url(
        url,
        socket_timeout=None if for_pubsub else COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_keepalive=True,
        socket_keepalive_options=_KEEPALIVE,
        decode_responses=False,
    )


def connect_sync(url: str) -> redis.Redis:
    """A blocking Redis client for `url`, with the same timeouts (for threads: views, the recorder)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_keepalive=True,
        socket_keepalive_options=_KEEPALIVE,
        decode_responses=False,
    )


def mask_url(url: str) -> str:
    """The URL with any password (userinfo or `?password=`) replaced by ***, safe to log."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if password:
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal needs its brackets back
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{user}:***@{host}{port}"
    query = "&".join(
        "password=***" if item.startswith("password=") else item for item in parts.query.split("&")
    ) if parts.query else ""
    # Assembled by hand: urlunsplit drops the empty authority of unix:///path URLs.
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
