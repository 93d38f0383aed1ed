"""Closes the sockets of users who lost access: deactivated, deleted, or whose session ended.

One task per web process checks every connected user and session with two queries every few
seconds, however many sockets are open (a check per socket would be a query per socket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.utils import timezone

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 3.0
CLOSE_DEACTIVATED = 4003
"""The account was deactivated or deleted: the page goes to the login screen."""
CLOSE_SESSION_ENDED = 4001


@dataclass(eq=False)
class Watched:
    """One open socket: whose it is, and how to close it."""

    user_id: int
    session_key: str | None
    close: Callable[[int], Awaitable[None]]


@dataclass
class SessionGuard:
    """The registry of open sockets and the task that checks them."""

    interval: float = CHECK_INTERVAL
    sockets: set[Watched] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    def watch(self, socket: Watched) -> None:
        """Check `socket` from now on (starts the task on first use)."""
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-guard")

    def forget(self, socket: Watched) -> None:
        """Stop checking `socket` (it closed)."""
        self.sockets.discard(socket)

    async def check_now(self) -> int:
        """Close every socket whose user or session is gone; return how many were closed."""
        if not self.sockets:
            return 0
        users = {s.user_id for s in self.sockets}
        sessions = {s.session_key for s in self.sockets if s.session_key}
        active, live = await database_sync_to_async(_still_valid)(users, sessions)
        closed = 0
        for socket in list(self.sockets):
            code = (CLOSE_DEACTIVATED if socket.user_id not in active
                    else CLOSE_SESSION_ENDED if socket.session_key and socket.session_key not in live else None)
            if code is not None:
                self.sockets.discard(socket)
                logger.info("closing a socket of user %s: %s", socket.user_id,
                            "account deactivated" if code == CLOSE_DEACTIVATED else "session ended")
                await socket.close(code)
                closed += 1
        return closed

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self.interval)
            try:
                await self.check_now()
            except DatabaseError as exc:
                logger.warning("session check failed (retried): %s", exc)


def _still_valid(users: set[int], sessions: set[str]) -> tuple[set[int], set[str]]:
    active = set(get_user_model().objects.filter(pk__in=users, is_active=True).values_list("pk", flat=True))
    live = set(Session.objects.filter(session_key__in=sessions, expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))
    return active, live


_guards: dict[asyncio.AbstractEventLoop, SessionGuard] = {}


def get_guard() -> SessionGuard:
    """This event loop's guard."""
    loop = asyncio.get_running_loop()
    guard = _guards.get(loop)
    if guard is None:
        guard = _guards[loop] = SessionGuard()
    return guard
