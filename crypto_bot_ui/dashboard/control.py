"""Per-user control messages between web processes, on the channel layer (channels-redis).

When a user's access may have changed (logged out, deactivated, deleted, password or groups or
permissions changed) `access_changed` tells every web process, and each re-checks that user's
sockets at once instead of at its next poll (the poll stays, as the backstop for what no signal
reports: an expired session, a database edited by hand).

The same listener carries each user's fired alerts (notify/toasts.py): a small message for one
user's open pages, sent by the notifier to that user's alerts group.

One listener per web process, like the relay: it joins the groups of each user with a socket in
this process and hands every message to the session guard. Sockets never read the channel layer
themselves, so a Redis outage cannot close them; and the event fan-out never goes this way (the
relay carries it, see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

from bot_api.backoff import Backoff
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.notify import toasts

logger = logging.getLogger(__name__)

LAYER_TIMEOUT = 2.0
"""Longest wait for one channel-layer call: a Redis that stalls must hold up neither a socket nor
a request (the guard's poll is the backstop)."""
MEMBERSHIP_REFRESH = 3600.0
"""How often the groups of this process's users are joined again: the layer forgets a membership
after a day (channels-redis' group expiry)."""

NO_CHANNEL_LAYER = "none"
"""A channel layer alias that names no layer: a consumer with it gets none (see consumers.py)."""
ACCESS_CHANGED = "access.changed"
"""The message type: `{"type": ACCESS_CHANGED, "user": <id>}`."""


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's sockets (in every web process)."""
    return f"user.{user_id}"


def groups_of(user_id: int) -> tuple[str, ...]:
    """Every group this process joins for a user with a socket here: access changes, fired alerts."""
    return user_group(user_id), toasts.user_group(user_id)


async def access_changed(*user_ids: int) -> None:
    """Tell every web process to re-check these users' sockets now. Never raises: the poll is the
    backstop when the channel layer is down."""
    layer = get_channel_layer()
    if layer is None:
        return
    for user_id in user_ids:
        try:
            async with asyncio.timeout(LAYER_TIMEOUT):
                await layer.group_send(user_group(user_id), {"type": ACCESS_CHANGED, "user": user_id})
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("could not tell the web processes about user %s: %s", user_id, exc)


def access_changed_on_commit(*user_ids: int) -> None:
    """`access_changed` once the current transaction commits (the re-check must see the change).

    Robust: whatever goes wrong telling the other processes, the change itself is committed and
    the request that made it succeeds.
    """
    if user_ids:
        transaction.on_commit(lambda: async_to_sync(access_changed)(*user_ids), robust=True)


class ControlListener:
    """This process's member of the user groups (`groups_of`): joins for the first local socket of a
    user, leaves after the last, and hands each message to `handle`."""

    def __init__(self, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._handle = handle
        self._users: Counter[int] = Counter()
        self._channel: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pending: dict[int, str] = {}
        """By user: the membership change still to make (the latest wins: bounded by the users)."""
        self._wake = asyncio.Event()
        self._refreshed = 0.0

    def join(self, user_id: int) -> None:
        """A socket of `user_id` opened here: the first one joins the user's group."""
        self._users[user_id] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="control-listener")
        if self._users[user_id] == 1:
            self._change("group_add", user_id)

    def leave(self, user_id: int) -> None:
        """A socket of `user_id` closed here: the last one leaves the group."""
        self._users[user_id] -= 1
        if self._users[user_id] <= 0:
            del self._users[user_id]
            self._change("group_discard", user_id)

    def refresh(self, now: float) -> None:
        """Join every group again once MEMBERSHIP_REFRESH has passed (one long-lived tab included)."""
        if now - self._refreshed >= MEMBERSHIP_REFRESH:
            self._refreshed = now
            for user_id in list(self._users):
                self._change("group_add", user_id)

    def _change(self, method: str, user_id: int) -> None:
        # Never awaited by a socket (opening, closing and revoking go on whatever Redis does), and
        # made one at a time by one task: a thousand sockets opening at once are not a thousand
        # Redis connections.
        self._pending[user_id] = method
        self._wake.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._apply(), name="control-membership")

    async def _apply(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                user_id, method = self._pending.popitem()
                await self._group(method, user_id)

    async def _group(self, method: str, user_id: int) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await self._channel_of(layer)
        try:
            async with asyncio.timeout(LAYER_TIMEOUT):
                for group in groups_of(user_id):
                    await getattr(layer, method)(group, channel)
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("channel layer unavailable (%s); user %s is checked by the poll (and misses "
                           "pop-ups of fired alerts)", exc, user_id)

    async def _channel_of(self, layer: Any) -> str:
        """This process's one channel: the listener receives on the channel the groups hold."""
        if self._channel is None:
            name = await layer.new_channel()
            self._channel = self._channel or name  # another task may have named it meanwhile
        return self._channel

    async def _run(self) -> None:
        """Receive for the life of the process; after an outage, join every group again."""
        layer = get_channel_layer()
        if layer is None:
            return
        backoff = Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                message = await layer.receive(await self._channel_of(layer))
                backoff.reset()
            except (RedisError, OSError) as exc:
                logger.warning("control messages unavailable (%s); retrying", exc)
                await asyncio.sleep(backoff.next_delay())
                for user_id in list(self._users):
                    await self._group("group_add", user_id)
                continue
            try:
                await self._handle(message)
            except Exception:  # one bad message must not end the listener
                logger.exception("handling control message %r failed", message.get("type"))

    async def aclose(self) -> None:
        """Stop listening (tests and shutdown)."""
        # Cancelled until they end: on 3.11 a cancel that meets redis-py's inner wait_for is lost,
        # and the receive loop would carry on (a shutdown that never ends; seen as a test hang).
        await cancel_and_wait(self._task, self._worker)
        self._task = self._worker = None
