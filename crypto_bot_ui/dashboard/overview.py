"""The overview socket: every bot's summary, first all of them, then as they change.

No seqs, acks or resumes: a summary carries the whole of a bot's line, so a socket that falls
behind keeps only the newest per bot, and one that reconnects starts from the full list again.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from bot_api.frames import join_frames
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.dashboard.queues import LAGGED, Frame, Subscription, conflate
from crypto_bot_ui.dashboard.relay import Relay, get_relay
from crypto_bot_ui.dashboard.sockets import CLOSE_INTERNAL_ERROR, CLOSE_LAGGED, GuardedSocket

logger = logging.getLogger(__name__)


class OverviewConsumer(GuardedSocket):
    """Sends a logged-in browser every bot's summary; it reads, it never commands."""

    relay: Relay
    pump: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Refuse anonymous users; otherwise start sending."""
        if not await self.admit(bot_id=None):
            return
        self.relay = get_relay()
        self.sub = self.relay.subscribe_overview(settings.WS_SEND_QUEUE)
        self.pump = asyncio.create_task(self._pump(self.sub))

    async def release(self) -> None:
        """Stop sending and leave the relay."""
        await super().release()
        await cancel_and_wait(self.pump)
        self.pump = None
        if self.sub is not None:
            self.relay.unsubscribe_overview(self.sub)
            self.sub = None

    async def _pump(self, sub: Subscription) -> None:
        try:
            # Empty until the relay first read the registry (within a second of starting): the
            # list and the summaries then come through the queue like any change.
            await self._send(self.relay.overview_frames())
            while True:
                batch = await sub.queue.take_all()
                if LAGGED in batch:
                    logger.info("closing a lagging overview socket of %s", self.scope["user"])
                    await self.close(code=CLOSE_LAGGED)
                    return
                await self._send(conflate([f for f in batch if isinstance(f, Frame)]))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("overview pump failed; closing the socket")
            await self.close(code=CLOSE_INTERNAL_ERROR)

    async def _send(self, frames: list[Frame]) -> None:
        for text in join_frames([frame.raw for frame in frames]):
            await self.send_text(text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The overview takes no frames (a page's acks, if any, are ignored)."""
