"""Who a WebSocket belongs to, read once at its handshake: the session its cookie names, and that
session's user, put in the scope for the consumers.

Not Channels' Cookie, Session and Auth middlewares: the session one wraps every `send` to save a
modified session and set its cookie, which only HTTP responses can do. A socket never changes its
session, yet the wrapper asked the session whether it had, through a lazy object, for every
frame: about a tenth of the web process's CPU at 1,000 viewers (docs/benchmarks.md). The three
also copied the scope three times and kept the parsed cookies, for every open socket. This reads
the cookie, makes one copy of the scope with the session and the user (loaded by Channels'
`get_user`, which checks the session's auth hash as Django does), and leaves `send` alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.http import parse_cookie


class SocketAuthMiddleware:
    """Put the cookie's session (or a new, empty one) and its user (or AnonymousUser) in a
    WebSocket's scope."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Call the inner application with `session` and `user` in a copy of the scope."""
        if scope["type"] != "websocket":
            raise ValueError("SocketAuthMiddleware serves WebSockets only")
        key = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                key = parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
                break
        scope = dict(scope, session=self.store(key))
        scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)
