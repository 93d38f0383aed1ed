"""Who a WebSocket belongs to, read once at its handshake: the session cookie's session, then
Channels' AuthMiddleware puts its user in the scope.

Not Channels' SessionMiddleware: it wraps every `send` to save a modified session and set its
cookie, which only HTTP responses can do. A socket never changes its session, yet the wrapper
asked the session whether it had, through a lazy object, for every frame: about a tenth of the
web process's CPU at 1,000 viewers (docs/benchmarks.md), and a wrapper object per socket.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings


class SocketSessionMiddleware:
    """Put the session the cookie names (or a new, empty one) in a WebSocket's scope."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Call the inner application with `session` in the scope (read lazily, by the auth layer)."""
        if scope["type"] != "websocket":
            raise ValueError("SocketSessionMiddleware serves WebSockets only")
        key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        return await self.inner(dict(scope, session=self.store(key)), receive, send)


def socket_auth_stack(inner: Any) -> Any:
    """Cookies, the session and the user for a WebSocket application (as Channels'
    AuthMiddlewareStack, without the per-frame session wrapper)."""
    return CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(inner)))
