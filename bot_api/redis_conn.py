"""Redis client construction with the timeouts every side of the contract needs, for one Redis
(a URL) or for the master a group of Sentinels names (docs/operations.md, "Redis that survives
losing its master")."""

from __future__ import annotations

import asyncio
import functools
import socket
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio.sentinel
import redis.sentinel
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
        return f"sentinel master {self.master!r} via {','.join(f'{h}:{p}' for h, p in self.sentinels)}"

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


_SENTINEL_OPTIONS = {"socket_timeout": SENTINEL_TIMEOUT, "socket_connect_timeout": SENTINEL_TIMEOUT}


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
    client: Redis = _async_sentinel(target).master_for(target.master, redis_class=Redis, **options,
                                                       **target.master_options())
    return client


def connect_sync(where: Where, *, socket_timeout: float | None = None) -> redis.Redis:
    """A blocking Redis client for `where`, with the same timeouts (for threads: views, the recorder)."""
    target = _target(where)
    options = _options(socket_timeout or COMMAND_TIMEOUT)
    if not target.uses_sentinel:
        return redis.Redis.from_url(target.url, **options)
    client: redis.Redis = _sync_sentinel(target).master_for(
        target.master, redis_class=redis.Redis, **options, **target.master_options())
    return client


# The Sentinels are asked through clients of their own, kept once per target (and, for asyncio,
# per event loop: a connection belongs to the loop that made it): a client made for every
# reconnect would leave its Sentinel connections open behind it.
_async_sentinels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[RedisTarget, Any]] = (
    weakref.WeakKeyDictionary())


def _async_sentinel(target: RedisTarget) -> Any:
    def made() -> Any:  # redis-py's sentinel module has no type hints
        return redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(target.sentinels), sentinel_kwargs=dict(_SENTINEL_OPTIONS))

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # made outside a loop: its own
        return made()
    known = _async_sentinels.setdefault(loop, {})
    if target not in known:
        known[target] = made()
    return known[target]


@functools.lru_cache(maxsize=8)
def _sync_sentinel(target: RedisTarget) -> Any:
    return redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=dict(_SENTINEL_OPTIONS))


def channel_layer_host(where: Where) -> dict[str, Any]:
    """The channels_redis `hosts` entry for `where`: the layer's blocking receive waits 5 s, so its
    read timeout is above that (redis-py 8's default of 5 s breaks it: channels_redis issue 422)."""
    target = _target(where)
    timeouts = {"socket_timeout": 10, "socket_connect_timeout": CONNECT_TIMEOUT}
    if not target.uses_sentinel:
        return {"address": target.url, **timeouts}
    return {"sentinels": list(target.sentinels), "master_name": target.master,
            "sentinel_kwargs": dict(_SENTINEL_OPTIONS), **timeouts, **target.master_options()}


def sentinel_address(raw: str) -> tuple[str, int]:
    """`host:port` (port 26379 when left out; `[v6]:port` for an IPv6 literal) as a pair; ValueError if not."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep or "]" in port:
        host, port = raw.strip(), "26379"
    host = host.strip("[]")
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
