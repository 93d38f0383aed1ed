"""WebSocket handshakes must come from this very site: same host *and* port, or a trusted origin."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings

logger = logging.getLogger(__name__)


class SameOriginValidator:
    """Refuse a socket whose Origin differs from its Host (or CSRF_TRUSTED_ORIGINS).

    Channels' AllowedHostsOriginValidator compares host names only, so a page served from
    another port of the same host (which gets the session cookie) could open the socket and
    send commands. Browsers always send Origin on WebSocket handshakes; none means no browser.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Deny the handshake (HTTP 403) unless the origin is this site's."""
        if scope["type"] == "websocket" and not same_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def same_origin(scope: dict[str, Any]) -> bool:
    """True if the Origin header names the host:port the request was sent to, or is trusted."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if not origin or not host:
        return False
    if urlsplit(origin).netloc == host:
        return True
    if origin in {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    logger.warning("refused a WebSocket from origin %s for host %s", origin, host)
    return False
