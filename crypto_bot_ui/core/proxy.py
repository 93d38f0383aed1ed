"""The client's address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy.

The servers' own proxy headers are off (Uvicorn's believes any peer on 127.0.0.1, Daphne's
`--proxy-headers` anyone): any client could otherwise pick the address the login lockout and the
audit log see. This ASGI middleware, outermost in asgi.py, is
the one place the address is decided: when the peer is in TRUSTED_PROXIES it walks
X-Forwarded-For from the right, past trusted proxies, to the first address that is not one
(what the nearest trusted proxy saw connect; anything left of it the client may have written)
and puts it in `scope["client"]`, which Django turns into REMOTE_ADDR and the dashboard socket
records. From any other peer the forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP) are
dropped, so nothing downstream (SECURE_PROXY_SSL_HEADER's X-Forwarded-Proto included) sees them.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDING_HEADERS = frozenset({b"forwarded", b"x-real-ip"})
"""Dropped from untrusted peers, with every header starting `x-forwarded-`."""


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Parse TRUSTED_PROXIES entries (addresses or CIDRs); a bad one is a configuration error."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
    return tuple(networks)


def parse_address(token: str) -> str | None:
    """One X-Forwarded-For entry as a plain address (`1.2.3.4`, `::1`), or None if it is not one.

    Accepts what proxies write: a bare address, `1.2.3.4:port`, `[v6]` or `[v6]:port`, quotes; an
    IPv4-mapped IPv6 address comes back as IPv4, a zone id is dropped.
    """
    token = token.strip().strip('"')
    if token.startswith("["):
        token = token[1:].partition("]")[0]
    elif token.count(":") == 1:
        token = token.partition(":")[0]
    try:
        address = ipaddress.ip_address(token.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def is_trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    """True if `address` (already parsed) is in one of the trusted networks."""
    if address is None or not networks:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """The client behind a trusted peer: the right-most X-Forwarded-For entry not trusted itself.

    An untrusted peer is the client. Walking from the right stops at the first untrusted entry, or
    at one that is not an address (the last trusted hop then stands for the client); if every
    entry is trusted, the left-most is the client.
    """
    peer = parse_address(peer) if peer else None
    if not is_trusted(peer, networks):
        return peer
    client = peer
    for token in reversed(forwarded_for.split(",")):
        address = parse_address(token)
        if address is None:
            break
        client = address
        if not is_trusted(address, networks):
            break
    return client


class TrustedProxyMiddleware:
    """Set `scope["client"]` from X-Forwarded-For behind TRUSTED_PROXIES; drop forwarding headers otherwise."""

    def __init__(self, application: Any, trusted: Iterable[str] | None = None) -> None:
        self.application = application
        self.networks = trusted_networks(settings.TRUSTED_PROXIES if trusted is None else trusted)
        self._warned = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Rewrite an http or websocket scope's client, then call the application."""
        if scope["type"] in ("http", "websocket"):
            scope = self.resolve(scope)
        return await self.application(scope, receive, send)

    def resolve(self, scope: dict[str, Any]) -> dict[str, Any]:
        """A copy of `scope` with the client address decided and untrusted forwarding headers gone."""
        peer = scope.get("client")
        host = parse_address(str(peer[0])) if peer else None
        headers = scope.get("headers", [])
        if is_trusted(host, self.networks):
            forwarded = ",".join(v.decode("latin-1") for n, v in headers if n.lower() == b"x-forwarded-for")
            client = client_address(host, forwarded, self.networks) if forwarded else host
            return scope if client == host else {**scope, "client": (client, 0)}
        kept = [(n, v) for n, v in headers if not forwarding(n)]
        if len(kept) == len(headers):
            return scope
        proto = any(n.lower() == b"x-forwarded-proto" for n, _ in headers)
        if proto and settings.SECURE_PROXY_SSL_HEADER and not self._warned:
            self._warned = True  # a TLS proxy left out of TRUSTED_PROXIES: every request would look like plain HTTP
            logger.warning("ignored X-Forwarded-Proto from %s, which is not in TRUSTED_PROXIES: if it is your TLS "
                           "proxy, add its address there", host)
        return {**scope, "headers": kept}


def forwarding(name: bytes) -> bool:
    """True for a header only a proxy should set: X-Forwarded-*, Forwarded, X-Real-IP."""
    name = name.lower()
    return name.startswith(b"x-forwarded-") or name in FORWARDING_HEADERS


def remote_addr(request: HttpRequest) -> str | None:
    """The address django-axes locks out: REMOTE_ADDR, as TrustedProxyMiddleware decided it."""
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
