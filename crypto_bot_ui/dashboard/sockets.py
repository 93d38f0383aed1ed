"""What every dashboard socket does alike: refuse anonymous users and one socket too many, be closed
when its user's access changes, show its user's fired alerts, close itself when a frame cannot
be sent, and give itself up when its client stops taking data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY

from bot_api.events import Envelope, encode_event, error_event
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.dashboard.control import NO_CHANNEL_LAYER
from crypto_bot_ui.dashboard.flow import SocketCounts
from crypto_bot_ui.dashboard.guard import Watched, get_guard
from crypto_bot_ui.dashboard.queues import Frame, Subscription

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_UNKNOWN_BOT = 4004
"""The socket's path names no bot this dashboard knows (a typo, or a retired bot)."""
CLOSE_LAGGED = 4008
"""The client fell behind (its queue was dropped, it acknowledged nothing while its window was
full, or a frame could not be sent): reconnect and resume at once."""
CLOSE_TOO_MANY = 4029
"""This user has WS_MAX_SOCKETS_PER_USER dashboards open in this web process already."""
CLOSE_INTERNAL_ERROR = 1011
SOCKETS = SocketCounts()
"""Open sockets per user in this process (consumers all run on its one event loop)."""


class GuardedSocket(AsyncWebsocketConsumer):
    """A logged-in user's socket, counted and watched by the session guard."""

    # No channel layer of its own (Channels gives a socket one unless its alias names none):
    # events come from the relay, and control messages from the process's one listener
    # (control.py). A layer receive per socket would end every socket on a Redis blip.
    channel_layer_alias = NO_CHANNEL_LAYER

    watched: Watched | None = None
    sub: Subscription | None = None
    """The socket's queue from the relay: everything it sends goes through it, in order."""
    counted_user: int | None = None
    """The user whose socket count this socket holds (given back on release)."""
    send_failed: bool = False
    """A send failed: the socket is being closed and sends no more."""
    abandoned: bool = False
    """Given up (`abandon`): its client took no data for too long; the consumer ends at once."""
    _task: asyncio.Task[Any] | None = None
    _in_flight: int = 0
    _sending_since: float = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; however it ends, give back what it holds."""
        self._task = asyncio.current_task()

        async def timed(message: dict[str, Any]) -> None:
            # Under Uvicorn a send waits while the client's TCP window is shut (backpressure), a
            # close too: how long the oldest one has waited is the watchdog's measure.
            self._in_flight += 1
            if self._in_flight == 1:
                self._sending_since = time.monotonic()
            try:
                await send(message)
            finally:
                self._in_flight -= 1

        try:
            await super().__call__(scope, receive, timed)
        except asyncio.CancelledError:
            if not self.abandoned:
                raise
            # This socket cancelled itself (`abandon`): it ends normally and the server drops it.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            await self.release()

    def watchdog(self, now: float) -> None:
        """Give the socket up when a send (or its close) has waited more than WS_ACK_WAIT seconds
        for the client to take data: a client that keeps its TCP window shut would otherwise hold
        its sender, its queue and its user's socket count for as long as the connection lives."""
        if self._in_flight and now - self._sending_since > settings.WS_ACK_WAIT:
            self.abandon(f"a frame waited {now - self._sending_since:.0f} s for the client to take data")

    def abandon(self, why: str) -> None:
        """End this consumer without a goodbye frame (none could go out): the server then drops
        the connection, and the client reconnects and resumes if it is still there."""
        if self.abandoned:
            return
        self.abandoned = self.send_failed = True
        logger.info("giving up a socket of %s: %s", self.scope.get("user"), why)
        if self._task is not None:
            self._task.cancel()

    async def admit(self, *, bot_id: str | None) -> bool:
        """Accept a logged-in user's socket (closing it otherwise; False) and watch its access;
        `bot_id`: the bot whose controls it shows (None: no controls)."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        if not SOCKETS.take(user.pk, settings.WS_MAX_SOCKETS_PER_USER):
            # Accepted, then closed with a reason the page can show (a refused handshake cannot say why).
            logger.warning("%s has %d dashboards open; one more refused", user, settings.WS_MAX_SOCKETS_PER_USER)
            await self.accept()
            await self.send_event(error_event(
                "too_many_sockets", f"at most {settings.WS_MAX_SOCKETS_PER_USER} dashboards per account at once"))
            await self.close(code=CLOSE_TOO_MANY)
            return False
        self.counted_user = user.pk
        await self.accept()
        session = self.scope.get("session")
        role = None if bot_id is None else await database_sync_to_async(can_control)(user.pk, bot_id)
        self.watched = Watched(user.pk, getattr(session, "session_key", None), self._close_for_guard,
                               auth_hash=session.get(HASH_SESSION_KEY) if session is not None else None,
                               can_control=role, bot_id=bot_id, alert_fired=self.alert_fired,
                               watchdog=self.watchdog, abandon=self.abandon)
        get_guard().watch(self.watched)
        return True

    async def alert_fired(self, message: dict[str, Any]) -> None:
        """One of this user's alerts fired (notify/toasts.py; the guard checked the frame): queued like
        the relay's own frames, so it goes out in order with them, batched, through the socket's pump.
        It has no seq: it moves neither the socket's cursor nor its flow-control window, and a socket
        without a queue (opening, closing) misses it, as a closed page does."""
        frame = message.get("frame")
        if self.sub is not None and isinstance(frame, str):
            self.sub.offer(Frame(raw=frame, seq=None, type="alert_fired"))

    async def _close_for_guard(self, code: int) -> None:
        """The user's access changed (deactivated, session ended, role changed): close at once."""
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        """Give back what the socket holds."""
        await self.release()

    async def release(self) -> None:
        """Give back the socket count and the guard's watch (idempotent; subclasses add theirs)."""
        if self.counted_user is not None:
            SOCKETS.give_back(self.counted_user)
            self.counted_user = None
        if self.watched is not None:
            get_guard().forget(self.watched)
            self.watched = None

    async def send_event(self, event: Envelope) -> None:
        """Send one envelope."""
        await self.send(text_data=encode_event(event))

    async def send(self, *args: Any, **kwargs: Any) -> None:
        """Send a frame; if one cannot go, close the socket (once) so the client resumes past the hole."""
        if self.send_failed:
            return  # closing: later frames would fail the same way
        try:
            await super().send(*args, **kwargs)
        except (RuntimeError, OSError) as exc:
            await self._could_not_send(exc)

    async def send_text(self, text: str) -> None:
        """Send one text frame straight to the server, as `send` does (the pumps' path: one frame
        per socket per event, so no layers of Channels' own between it and the server)."""
        if self.send_failed:
            return
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except (RuntimeError, OSError) as exc:
            await self._could_not_send(exc)

    async def _could_not_send(self, exc: BaseException) -> None:
        # The socket is gone (Uvicorn's ClientDisconnected, an OSError; autobahn's Disconnected
        # under Daphne, a RuntimeError), or Daphne refused the frame (over its
        # --websocket-max-message-size). Going on would leave a silent hole in this client's
        # stream: a resume fills it.
        self.send_failed = True
        logger.info("a frame could not be sent (%s: %s); closing the socket", type(exc).__name__, exc)
        with contextlib.suppress(RuntimeError, OSError):
            await self.close(code=CLOSE_LAGGED)
