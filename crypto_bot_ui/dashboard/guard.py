"""Closes the sockets of users who lost access: deactivated, deleted, whose session ended, or whose
password changed since they logged in (the session's auth hash no longer matches, as Django checks
on every request).

One task per web process checks every connected user and session with two queries every few
seconds, however many sockets are open (a check per socket would be a query per socket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.utils import timezone
from django.utils.crypto import constant_time_compare

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
    auth_hash: str | None = None
    """The session's HASH_SESSION_KEY at connect (None: not checked)."""


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
        hashes, live = await database_sync_to_async(_still_valid)(users, sessions)
        closed = 0
        for socket in list(self.sockets):
            code = _verdict(socket, hashes, live)
            if code is None:
                continue
            self.sockets.discard(socket)
            logger.info("closing a socket of user %s: %s", socket.user_id,
                        "account deactivated" if code == CLOSE_DEACTIVATED else "session ended")
            try:
                await socket.close(code)
            except Exception:  # one socket that fails to close must not spare the others
                logger.exception("closing a revoked socket failed")
            closed += 1
        return closed

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self.interval)
            try:
                await self.check_now()
            except DatabaseError as exc:
                logger.warning("session check failed (retried): %s", exc)
            except Exception:  # the guard must outlive any surprise, or no socket is checked again
                logger.exception("session check failed (retried)")


def _still_valid(users: set[int], sessions: set[str]) -> tuple[dict[int, str], set[str]]:
    """(auth hash of each active user, the sessions that still exist)."""
    hashes = {u.pk: u.get_session_auth_hash() for u in get_user_model().objects.filter(pk__in=users, is_active=True)}
    live = set(Session.objects.filter(session_key__in=sessions, expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))
    return hashes, live


def _verdict(socket: Watched, hashes: dict[int, str], live: set[str]) -> int | None:
    """The close code for a socket whose access is gone, or None."""
    if socket.user_id not in hashes:
        return CLOSE_DEACTIVATED
    if socket.session_key and socket.session_key not in live:
        return CLOSE_SESSION_ENDED
    if socket.auth_hash is not None and not constant_time_compare(socket.auth_hash, hashes[socket.user_id]):
        return CLOSE_SESSION_ENDED  # the password changed: Django would log this session out
    return None


_guards: WeakKeyDictionary[asyncio.AbstractEventLoop, SessionGuard] = WeakKeyDictionary()


def get_guard() -> SessionGuard:
    """This event loop's guard."""
    loop = asyncio.get_running_loop()
    guard = _guards.get(loop)
    if guard is None:
        guard = _guards[loop] = SessionGuard()
    return guard
