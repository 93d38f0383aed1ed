"""A WebSocket's session and user come from its cookie, read once; its frames go out unwrapped."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore

from crypto_bot_ui.core.socket_session import SocketAuthMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


class Inner:
    """The application behind the stack: notes the scope and the `send` it was given."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}
        self.send: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope, self.send = scope, send


async def logged_in_cookie() -> tuple[User, bytes]:
    user = await sync_to_async(User.objects.create_user)("sockets", password="pw-Socket-session-1")
    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash()})
    await sync_to_async(session.create)()
    return user, f"sessionid={session.session_key}".encode()


async def send(message: dict[str, Any]) -> None:
    """The server's send (never called here)."""


async def test_the_cookies_session_names_the_user_and_send_is_the_servers_own() -> None:
    user, cookie = await logged_in_cookie()
    inner = Inner()
    await SocketAuthMiddleware(inner)({"type": "websocket", "headers": [(b"cookie", cookie)]}, None, send)
    assert inner.send is send  # no wrapper between the consumer and the server on every frame
    assert inner.scope["session"].session_key == cookie.decode().split("=")[1]
    assert inner.scope["user"].pk == user.pk and inner.scope["user"].is_authenticated
    assert "cookies" not in inner.scope  # nothing more per socket than the consumers read


async def test_no_cookie_an_unknown_one_or_a_stale_password_is_anonymous() -> None:
    user, cookie = await logged_in_cookie()
    user.set_password("pw-Changed-since-1")
    await sync_to_async(user.save)()  # the session's auth hash no longer matches
    for headers in ([], [(b"cookie", b"sessionid=not-a-session")], [(b"cookie", cookie)]):
        inner = Inner()
        await SocketAuthMiddleware(inner)({"type": "websocket", "headers": headers}, None, send)
        assert not inner.scope["user"].is_authenticated


async def test_it_serves_websockets_only() -> None:
    with pytest.raises(ValueError, match="WebSockets only"):
        await SocketAuthMiddleware(Inner())({"type": "http", "cookies": {}}, None, send)
