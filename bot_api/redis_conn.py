"""Redis client construction with the timeouts every side of the contract needs, for one Redis
(a URL) or for the master a group of Sentinels names (docs/operations.md, "Redis that survives
losing its master")."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

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


QUICK_TIMEOUT = 1.0
"""A quick client's connect and command timeout (seconds)."""
SENTINEL_TIMEOUT = 1.0
"""Seconds a Sentinel may take to answer before the next one is asked (they answer from memory)."""


@dataclass(frozen=True)
class RedisTarget:
    """Where a process finds Redis: `url` alone, or, with `sentinels`, the master that they know as
    `master` (the URL then gives only the password, user, database and TLS; its host is unused)."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""

    @property
    def uses_sentinel(self) -> bool:
        """Whether the master is found through Sentinel (and may move)."""
        return bool(self.sentinels)

    def described(self) -> str:
        """Safe to log: the URL without its password, or the Sentinels and the master's name."""
        if not self.sentinels:
            return mask_url(self.url)
        shown = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
        return f"sentinel master {self.master!r} via {shown}"

    def master_options(self) -> dict[str, Any]:
        """What the URL says of the master besides its address: credentials, database, TLS."""
        parts = urlsplit(self.url)
        options: dict[str, Any] = {"db": int(parts.path.strip("/") or 0) if parts.scheme != "unix" else 0}
        if parts.password:
            options["password"] = parts.password
        if parts.username:
            options["username"] = parts.username
        if parts.scheme == "rediss":
            options["ssl"] = True
        return options


Where = RedisTarget | str
"""A Redis to connect to: a target, or a plain URL (tests, scripts)."""


def _target(where: Where) -> RedisTarget:
    return where if isinstance(where, RedisTarget) else RedisTarget(url=where)


def _options(socket_timeout: float | None) -> dict[str, Any]:
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_keepalive": True,
        "socket_keepalive_options": _KEEPALIVE,
        "decode_responses": False,
    }


def _sentinel_options(*, blocking: bool) -> dict[str, Any]:
    """How each Sentinel is asked: once (when it does not answer the next one is, and the caller's
    own retry starts the round again), with redis-py's retry of the client's kind."""
    once = Retry(NoBackoff(), 0) if blocking else AsyncRetry(NoBackoff(), 0)
    return {"socket_timeout": SENTINEL_TIMEOUT, "socket_connect_timeout": SENTINEL_TIMEOUT, "retry": once}


class _SentinelClient(Redis):
    """A client of the master the Sentinels name; closing it closes its Sentinel connections too
    (a client is made for every reconnect: they would otherwise stay open behind it)."""

    sentinel: Any = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the master's connections, then the Sentinels'."""
        await super().aclose(close_connection_pool)
        for one in getattr(self.sentinel, "sentinels", ()):
            await one.aclose()


class _SentinelClientSync(redis.Redis):
    """The blocking `_SentinelClient`."""

    sentinel: Any = None

    def close(self) -> None:
        """Close the master's connections, then the Sentinels'."""
        super().close()
        for one in getattr(self.sentinel, "sentinels", ()):
            one.close()


def connect(where: Where, *, for_pubsub: bool = False, socket_timeout: float | None = None) -> Redis:
    """Return an asyncio Redis client for `where` (a password in the URL is honoured).

    Pub/sub clients get no socket read timeout: redis-py 8 defaults it to 5 s, which would
    tear down an idle subscription. Liveness is checked with TCP keepalive instead. Through
    Sentinel, every new connection asks the Sentinels for the master, and a connection to a master
    that was demoted fails (redis-py turns its READONLY answer into a ConnectionError), so a
    client follows a failover by reconnecting, as it does after any lost connection.
    """
    target = _target(where)
    options = _options(None if for_pubsub else socket_timeout or COMMAND_TIMEOUT)
    if not target.uses_sentinel:
        return Redis.from_url(target.url, **options)
    sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]  # redis-py's module has no hints
        list(target.sentinels), sentinel_kwargs=_sentinel_options(blocking=False))
    client: _SentinelClient = sentinel.master_for(target.master, redis_class=_SentinelClient, **options,
                                                  **target.master_options())
    client.sentinel = sentinel
    return client


def connect_sync(where: Where, *, socket_timeout: float | None = None, quick: bool = False) -> redis.Redis:
    """A blocking Redis client for `where`, with the same timeouts (for threads: views, the recorder).
    `quick`: one try with QUICK_TIMEOUT, no retries (a health check answers in seconds whatever
    Redis does; redis-py's own retries take over ten while a master is away)."""
    target = _target(where)
    options = _options(socket_timeout or COMMAND_TIMEOUT)
    if quick:
        options.update(socket_timeout=QUICK_TIMEOUT, socket_connect_timeout=QUICK_TIMEOUT,
                       retry=Retry(NoBackoff(), 0))
    if not target.uses_sentinel:
        return redis.Redis.from_url(target.url, **options)
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=_sentinel_options(blocking=True))
    client: _SentinelClientSync = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.master, redis_class=_SentinelClientSync, **options, **target.master_options())
    client.sentinel = sentinel
    return client


def channel_layer_host(where: Where) -> dict[str, Any]:
    """The channels_redis `hosts` entry for `where`: the layer's blocking receive waits 5 s, so its
    read timeout is above that (redis-py 8's default of 5 s breaks it: channels_redis issue 422)."""
    target = _target(where)
    timeouts = {"socket_timeout": 10, "socket_connect_timeout": CONNECT_TIMEOUT}
    if not target.uses_sentinel:
        return {"address": target.url, **timeouts}
    return {"sentinels": list(target.sentinels), "master_name": target.master,
            "sentinel_kwargs": _sentinel_options(blocking=False), **timeouts, **target.master_options()}


def sentinel_address(raw: str) -> tuple[str, int]:
    """`host:port` (port 26379 when left out; `[v6]:port` for an IPv6 literal) as a pair; ValueError if not."""
    text = raw.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else ("26379" if not rest else "")
    elif text.count(":") > 1:
        raise ValueError("each entry must be host:port (an IPv6 address in brackets: [::1]:26379)")
    else:
        host, _, port = text.partition(":")
        port = port or "26379"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("each entry must be host:port")
    return host, int(port)


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
