"""Per-user control messages between web processes, on the channel layer (channels-redis).

When a user's access may have changed (logged out, deactivated, deleted, password or groups or
permissions changed) `access_changed` tells every web process, and each re-checks that user's
sockets at once instead of at its next poll (the poll stays, as the backstop for what no signal
reports: an expired session, a database edited by hand).

One listener per web process, like the relay: it joins the group of each user with a socket in
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

logger = logging.getLogger(__name__)

NO_CHANNEL_LAYER = "none"
"""A channel layer alias that names no layer: a consumer with it gets none (see consumers.py)."""
ACCESS_CHANGED = "access.changed"
"""The message type: `{"type": ACCESS_CHANGED, "user": <id>}`."""


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's sockets (in every web process)."""
    return f"user.{user_id}"


async def access_changed(*user_ids: int) -> None:
    """Tell every web process to re-check these users' sockets now. Never raises: the poll is the
    backstop when the channel layer is down."""
    layer = get_channel_layer()
    if layer is None:
        return
    for user_id in user_ids:
        try:
            await layer.group_send(user_group(user_id), {"type": ACCESS_CHANGED, "user": user_id})
        except (RedisError, OSError) as exc:
            logger.warning("could not tell the web processes about user %s: %s", user_id, exc)


def access_changed_on_commit(*user_ids: int) -> None:
    """`access_changed` once the current transaction commits (the re-check must see the change)."""
    if user_ids:
        transaction.on_commit(lambda: async_to_sync(access_changed)(*user_ids))


class ControlListener:
    """This process's member of the user groups: joins for the first local socket of a user,
    leaves after the last, and hands each message to `handle`."""

    def __init__(self, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._handle = handle
        self._users: Counter[int] = Counter()
        self._channel: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def join(self, user_id: int) -> None:
        """A socket of `user_id` opened here."""
        self._users[user_id] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="control-listener")
        # Every socket re-joins: it also renews the membership before the layer's group expiry.
        await self._group("group_add", user_id)

    async def leave(self, user_id: int) -> None:
        """A socket of `user_id` closed here."""
        self._users[user_id] -= 1
        if self._users[user_id] <= 0:
            del self._users[user_id]
            await self._group("group_discard", user_id)

    async def _group(self, method: str, user_id: int) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        if self._channel is None:
            self._channel = await layer.new_channel()
        try:
            await getattr(layer, method)(user_group(user_id), self._channel)
        except (RedisError, OSError) as exc:
            logger.warning("channel layer unavailable (%s); user %s is checked by the poll", exc, user_id)

    async def _run(self) -> None:
        """Receive for the life of the process; after an outage, join every group again."""
        layer = get_channel_layer()
        if layer is None:
            return
        backoff = Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                if self._channel is None:
                    self._channel = await layer.new_channel()
                message = await layer.receive(self._channel)
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
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
