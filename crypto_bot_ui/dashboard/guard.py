"""Closes the sockets of users who lost access: deactivated, deleted, whose session ended, or whose
password changed since they logged in (the session's auth hash no longer matches, as Django checks
on every request); and of users whose role changed (operator ↔ viewer), so their page reloads
with the right controls.

A change made through Django (admin, logout, password change) reaches every web process at once
as a control message (`control.py`). One task per web process also checks every connected user
and session with four queries every few seconds, however many sockets are open: the backstop
for what no signal reports (an expired session, a database edited by hand).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from bot_api.errors import ContractError
from bot_api.events import AlertFiredEvent, parse_event
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.roles import controllers_by_bot
from crypto_bot_ui.dashboard.control import ACCESS_CHANGED, ControlListener
from crypto_bot_ui.notify import toasts

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 3.0
CLOSE_WAIT = 2.0
"""Seconds a revoked socket's close may take before the socket is given up without one."""
CLOSE_DEACTIVATED = 4003
"""The account was deactivated or deleted: the page goes to the login screen."""
CLOSE_SESSION_ENDED = 4001
CLOSE_ROLE_CHANGED = 4009
"""The user became an operator or a viewer: the page reloads to show the controls they now have."""
REASONS = {CLOSE_DEACTIVATED: "account deactivated", CLOSE_SESSION_ENDED: "session ended",
           CLOSE_ROLE_CHANGED: "role changed"}


@dataclass(eq=False)
class Watched:
    """One open socket: whose it is, and how to close it."""

    user_id: int
    session_key: str | None
    close: Callable[[int], Awaitable[None]]
    auth_hash: str | None = None
    """The session's HASH_SESSION_KEY at connect (None: not checked)."""
    can_control: bool | None = None
    """Whether the user was an operator of `bot_id` at connect (None: not checked)."""
    bot_id: str | None = None
    """The bot the socket shows (its role is for that bot: a per-bot grant counts)."""
    alert_fired: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    """Hands the socket one of its user's fired alerts (the channel-layer message, checked)."""
    watchdog: Callable[[float], None] | None = None
    """Checked every interval (monotonic now): gives up the socket if a send has waited too long."""
    abandon: Callable[[str], None] | None = None
    """Ends the socket without a goodbye frame (its close could not go out)."""


@dataclass
class SessionGuard:
    """The registry of open sockets and the task that checks them."""

    interval: float = CHECK_INTERVAL
    sockets: set[Watched] = field(default_factory=set)
    listener: ControlListener = field(init=False)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.listener = ControlListener(self._on_control)

    def watch(self, socket: Watched) -> None:
        """Check `socket` from now on (starts the task on first use)."""
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-guard")
        self.listener.join(socket.user_id)

    async def aclose(self) -> None:
        """Stop checking and listening (shutdown, tests)."""
        await cancel_and_wait(self._task)
        self._task = None
        await self.listener.aclose()

    def forget(self, socket: Watched) -> None:
        """Stop checking `socket` (it closed)."""
        if socket in self.sockets:
            self.sockets.discard(socket)
            self.listener.leave(socket.user_id)

    async def _on_control(self, message: dict[str, Any]) -> None:
        """A control message from any web process: re-check that user's sockets here, now; or one of
        a user's alerts fired (from the notifier): to that user's sockets here."""
        if message.get("type") == ACCESS_CHANGED and isinstance(message.get("user"), int):
            closed = await self.check_now(users={message["user"]})
            logger.info("access of user %s changed: %d socket(s) closed here", message["user"], closed)
        elif message.get("type") == toasts.MESSAGE_TYPE and isinstance(message.get("user"), int):
            await self._alert_fired(message["user"], message)

    async def _alert_fired(self, user_id: int, message: dict[str, Any]) -> None:
        """Checked once here (an `alert_fired` envelope, under the frame limit), then handed to each of
        the user's sockets, which send it in order with their other frames."""
        frame = message.get("frame")
        if not isinstance(frame, str):
            logger.warning("an alert for user %s carries no frame; dropped", user_id)
            return
        try:
            event = parse_event(frame)
        except ContractError as exc:
            logger.warning("an alert for user %s is not an alert_fired envelope; dropped: %s", user_id, exc)
            return
        if not isinstance(event, AlertFiredEvent):
            logger.warning("an alert for user %s carries a %s event; dropped", user_id, event.type)
            return
        for socket in [s for s in self.sockets if s.user_id == user_id and s.alert_fired is not None]:
            try:
                await socket.alert_fired(message)
            except Exception:  # one socket's failure must not cost the others their pop-up
                logger.exception("a socket could not take an alert")

    async def check_now(self, *, users: set[int] | None = None) -> int:
        """Close every socket (of `users`, default all) whose access changed; return how many."""
        sockets = [s for s in self.sockets if users is None or s.user_id in users]
        if not sockets:
            return 0
        sessions = {s.session_key for s in sockets if s.session_key}
        valid = await database_sync_to_async(_still_valid)(
            {s.user_id for s in sockets}, sessions, {s.bot_id for s in sockets if s.can_control is not None})
        closing = []
        for socket in sockets:
            code = _verdict(socket, valid)
            if code is None or socket not in self.sockets:
                continue
            self.forget(socket)
            logger.info("closing a socket of user %s: %s", socket.user_id, REASONS[code])
            closing.append(self._close(socket, code))
        # Together, each bounded: a client that takes no data cannot hold up the others' closing.
        await asyncio.gather(*closing)
        return len(closing)

    @staticmethod
    async def _close(socket: Watched, code: int) -> None:
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await socket.close(code)
        except TimeoutError:
            if socket.abandon is not None:
                socket.abandon(f"its close waited {CLOSE_WAIT:.0f} s for the client to take data")
        except Exception:  # one socket that fails to close must not spare the others
            logger.exception("closing a revoked socket failed")

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self.interval)
            self.listener.refresh(asyncio.get_running_loop().time())
            now = time.monotonic()
            for socket in list(self.sockets):
                if socket.watchdog is not None:
                    socket.watchdog(now)
            try:
                await self.check_now()
            except DatabaseError as exc:
                logger.warning("session check failed (retried): %s", exc)
            except Exception:  # the guard must outlive any surprise, or no socket is checked again
                logger.exception("session check failed (retried)")


@dataclass(frozen=True)
class Access:
    """What the database says now about the users and sessions of some sockets."""

    hashes: dict[int, str]
    """The session auth hash of each user who is still active."""
    live: set[str]
    """The sessions that still exist and have not expired."""
    controllers: dict[str | None, set[int]]
    """By bot: the users who may steer it."""


def _still_valid(users: set[int], sessions: set[str], bots: set[str | None]) -> Access:
    """Four queries, however many users, sessions and bots."""
    active = get_user_model().objects.filter(pk__in=users, is_active=True)
    hashes = {u.pk: u.get_session_auth_hash() for u in active}
    live = set(Session.objects.filter(session_key__in=sessions, expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))
    return Access(hashes=hashes, live=live, controllers=controllers_by_bot(users, bots))


def _verdict(socket: Watched, access: Access) -> int | None:
    """The close code for a socket whose access changed, or None."""
    if socket.user_id not in access.hashes:
        return CLOSE_DEACTIVATED
    if socket.session_key and socket.session_key not in access.live:
        return CLOSE_SESSION_ENDED
    if socket.auth_hash is not None and not constant_time_compare(socket.auth_hash, access.hashes[socket.user_id]):
        return CLOSE_SESSION_ENDED  # the password changed: Django would log this session out
    if socket.can_control is not None and socket.can_control != (
            socket.user_id in access.controllers.get(socket.bot_id, set())):
        return CLOSE_ROLE_CHANGED
    return None


_guards: WeakKeyDictionary[asyncio.AbstractEventLoop, SessionGuard] = WeakKeyDictionary()


async def close_guard() -> None:
    """Stop this event loop's guard, if it has one (the web process's shutdown)."""
    guard = _guards.pop(asyncio.get_running_loop(), None)
    if guard is not None:
        await guard.aclose()


def get_guard() -> SessionGuard:
    """This event loop's guard."""
    loop = asyncio.get_running_loop()
    guard = _guards.get(loop)
    if guard is None:
        guard = _guards[loop] = SessionGuard()
    return guard
