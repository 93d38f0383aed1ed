"""The same-origin rule for WebSocket handshakes (host *and* port, or a trusted origin)."""

from __future__ import annotations

from typing import Any

import pytest

from crypto_bot_ui.core.origin import same_origin


def scope(origin: str | None, host: str | None = "127.0.0.1:8000") -> dict[str, Any]:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    return {"type": "websocket", "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("HTTP://LOCALHOST:8000", "localhost:8000", True),
        ("https://bot.example.com", "bot.example.com", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # same host, other port
        ("http://evil.example", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),  # sandboxed iframes and file:// pages
        (None, "127.0.0.1:8000", False),  # no Origin: not a browser page
        ("http://127.0.0.1:8000", None, False),
    ],
)
def test_same_origin(origin: str | None, host: str | None, expected: bool) -> None:
    assert same_origin(scope(origin, host)) is expected


def test_trusted_origins_are_admitted(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://bot.example.com"]
    assert same_origin(scope("https://bot.example.com", "10.0.0.5:8000"))
    assert not same_origin(scope("https://other.example.com", "10.0.0.5:8000"))
