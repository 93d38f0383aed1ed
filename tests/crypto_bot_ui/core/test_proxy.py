"""The client address: X-Forwarded-For believed only from TRUSTED_PROXIES, walked from the right."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from crypto_bot_ui.core.proxy import TrustedProxyMiddleware, client_address, parse_address, trusted_networks
from tests.stack import ROOT

NETS = trusted_networks(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # one trusted proxy on this host
        ("10.1.2.3", "203.0.113.7", "203.0.113.7"),  # a proxy inside a trusted network
        ("198.51.100.1", "203.0.113.7", "198.51.100.1"),  # an untrusted peer is the client, header or not
        ("127.0.0.1", "", "127.0.0.1"),
        # Several hops: from the right, past trusted proxies, to the first untrusted address.
        ("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.5", "203.0.113.7"),
        ("127.0.0.1", "6.6.6.6,203.0.113.7,10.0.0.5,10.0.0.6", "203.0.113.7"),
        ("127.0.0.1", "10.0.0.9, 10.0.0.5", "10.0.0.9"),  # all trusted: the left-most
        # Not an address: what lies left of it cannot be believed; the nearest trusted hop stands in.
        ("127.0.0.1", "203.0.113.7, <script>", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.7, 10.0.0.5, unknown", "127.0.0.1"),
        ("127.0.0.1", "garbage, 10.0.0.5", "10.0.0.5"),
        ("127.0.0.1", "203.0.113.7,,", "127.0.0.1"),
        ("127.0.0.1", "999.1.1.1", "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4" + ", 5.6.7.8" * 10_000, "5.6.7.8"),
        # IPv6: peers, entries, brackets and ports, mapped IPv4, zone ids.
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("::1", "2001:db8::7", "::1"),  # ::1 is not in the list (127.0.0.1 is)
        ("::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "[2001:db8::7]:4711", "2001:db8::7"),
        ("127.0.0.1", "203.0.113.7:4711", "203.0.113.7"),
        ("127.0.0.1", '"[2001:DB8::7]"', "2001:db8::7"),
        ("127.0.0.1", "::ffff:203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "fe80::1%eth0", "fe80::1"),
        ("127.0.0.1", "2001:db8::7, fd00::2", "2001:db8::7"),
        (None, "203.0.113.7", None),  # a Unix socket has no peer address
    ],
)
def test_client_address(peer: str | None, header: str, expected: str | None) -> None:
    assert client_address(peer, header, NETS) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert client_address("127.0.0.1", "203.0.113.7", trusted_networks([])) == "127.0.0.1"


def test_parse_address() -> None:
    assert parse_address(" 203.0.113.7 ") == "203.0.113.7"
    assert parse_address("2001:0db8:0000::7") == "2001:db8::7"
    for junk in ("", "unknown", "_hidden", "1.2.3", "1.2.3.4.5", "::g", "[]:80", "a" * 1000):
        assert parse_address(junk) is None, junk


def test_a_bad_trusted_proxy_entry_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'10\.0\.0\.300'"):
        trusted_networks(["127.0.0.1", "10.0.0.300"])
    clean = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXIES"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**clean, "TRUSTED_PROXIES": "127.0.0.1, proxy.example"}, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: TRUSTED_PROXIES: 'proxy.example' is not an IP address")


class Recorder:
    """An ASGI app that keeps the scope it was called with."""

    scope: dict[str, Any]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"bot.example.com")] + [(k.replace("_", "-").encode(), v.encode()) for k, v in values.items()]


async def call(middleware: TrustedProxyMiddleware, scope: dict[str, Any]) -> dict[str, Any]:
    inner = middleware.application
    await middleware(scope, None, None)
    return dict(inner.scope)


@pytest.mark.parametrize("kind", ["http", "websocket"])
async def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(kind: str) -> None:
    middleware = TrustedProxyMiddleware(Recorder(), trusted=["127.0.0.1"])
    original = {"type": kind, "client": ["127.0.0.1", 51000],
                "headers": headers(x_forwarded_for="6.6.6.6, 203.0.113.7", x_forwarded_proto="https")}
    scope = await call(middleware, original)
    assert scope["client"] == ("203.0.113.7", 0)
    assert (b"x-forwarded-proto", b"https") in scope["headers"]  # kept for SECURE_PROXY_SSL_HEADER
    assert original["client"] == ["127.0.0.1", 51000]  # the server's scope is not modified


@pytest.mark.parametrize("kind", ["http", "websocket"])
async def test_from_an_untrusted_peer_every_forwarding_header_is_dropped(kind: str) -> None:
    middleware = TrustedProxyMiddleware(Recorder(), trusted=[])
    sent = headers(x_forwarded_for="6.6.6.6", X_Forwarded_Proto="https", x_forwarded_host="evil.example",
                   forwarded="for=6.6.6.6;proto=https", x_real_ip="6.6.6.6", cookie="a=b")
    scope = await call(middleware, {"type": kind, "client": ["198.51.100.1", 51000], "headers": sent})
    assert scope["client"] == ["198.51.100.1", 51000]
    assert scope["headers"] == [(b"host", b"bot.example.com"), (b"cookie", b"a=b")]


async def test_an_untrusted_tls_proxy_is_named_in_the_log_once(caplog: pytest.LogCaptureFixture) -> None:
    middleware = TrustedProxyMiddleware(Recorder(), trusted=[])
    scope = {"type": "http", "client": ["172.18.0.1", 51000], "headers": headers(x_forwarded_proto="https")}
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        await call(middleware, scope)
        await call(middleware, scope)
    warnings = [r.getMessage() for r in caplog.records if "TRUSTED_PROXIES" in r.getMessage()]
    assert warnings == ["ignored X-Forwarded-Proto from 172.18.0.1, which is not in TRUSTED_PROXIES: if it is "
                        "your TLS proxy, add its address there"]


async def test_other_scopes_and_plain_requests_pass_untouched() -> None:
    middleware = TrustedProxyMiddleware(Recorder(), trusted=["127.0.0.1"])
    lifespan = {"type": "lifespan"}
    assert await call(middleware, lifespan) == lifespan
    plain = {"type": "http", "client": ["127.0.0.1", 5], "headers": headers()}
    assert await call(middleware, plain) == plain
    unix = {"type": "http", "client": None, "headers": headers(x_forwarded_for="6.6.6.6")}
    assert (await call(middleware, unix))["client"] is None
