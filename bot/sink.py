"""Deliver engine events to Redis through bot_api's publisher without ever stopping trading."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.engine import BotEvent
from bot_api.errors import StaleSeqError, TransportError
from bot_api.events import StatusEvent

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    """The part of bot_api.publisher.EventPublisher the sink uses."""

    async def publish(self, event: BotEvent, *, snapshot: StatusEvent | None = None) -> str:
        """Publish one event; raise TransportError when Redis fails."""
        ...

    async def last_seq(self) -> int:
        """The last published seq; raise TransportError when Redis fails."""
        ...


class RedisSink:
    """Publish each event with its snapshot; on TransportError log once per outage and drop it.

    If the bot started without knowing the last published seq (Redis was down), nothing with
    a seq is published until the seq has been read back: publishing lower seqs would collide
    with the replay stream's ids and move the seq key backwards. `resync` is then called with
    the stored seq (see `resync_with`) so the engine continues above it.
    """

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self._resync: Callable[[int], None] | None = None
        self._continue_above: Callable[[int], None] | None = None
        self._outage = False
        self.dropped = 0
        self.published = 0

    def resync_with(self, callback: Callable[[int], None]) -> None:
        """Hold back seq'd events until the stored seq is read, then pass it to `callback`."""
        self._resync = callback

    def continue_above_with(self, callback: Callable[[int], None]) -> None:
        """On a stale seq (Redis already holds it), pass the stored seq to `callback`."""
        self._continue_above = callback

    async def emit(self, event: BotEvent, snapshot: StatusEvent) -> None:
        """Publish `event` and `snapshot`; never raises TransportError."""
        try:
            resync = self._resync
            if resync is not None and not await self._resynced(event, resync):
                self._drop(event, None)
                return
            await self._publisher.publish(event, snapshot=snapshot)
        except StaleSeqError as exc:
            # Nothing was written. Another process published this seq (a second bot with the
            # same BOT_ID?) or Redis was restored ahead of us: continue above it, loudly.
            self.dropped += 1
            logger.error("seq %s is behind Redis (%s); continuing above it", exc.attempted, exc.stored)
            if self._continue_above is not None:
                self._continue_above(exc.stored)
            return
        except TransportError as exc:
            # TODO(outbox): a local outbox (later issue) will keep these events and replay them
            # once Redis is back; until then an outage loses them (the next status heals the UI).
            self._drop(event, exc)
            return
        self.published += 1
        if self._outage:
            self._outage = False
            logger.warning("Redis publishing recovered; %d event(s) were dropped", self.dropped)

    async def _resynced(self, event: BotEvent, resync: Callable[[int], None]) -> bool:
        """Read the stored seq once Redis answers; True if `event` may still be published."""
        stored = await self._publisher.last_seq()
        self._resync = None
        current = event.seq or 0
        if stored < current:
            return True
        resync(stored)
        logger.warning("seq resynchronised: Redis has %d, continuing above it", stored)
        return False

    def _drop(self, event: BotEvent, exc: TransportError | None) -> None:
        self.dropped += 1
        if exc is not None and not self._outage:
            # One line per outage, not one per event (several per second while Redis is down).
            self._outage = True
            logger.warning("Redis unavailable, dropping events until it is back: %s", exc)
        else:
            logger.debug("dropped %s event seq=%s", event.type, event.seq)
