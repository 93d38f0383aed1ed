"""The engine's sink: write every event to the journal, publish it to Redis later, in seq order.

The engine never waits for Redis: `emit` is a local SQLite write. A separate flusher task
drains the outbox through bot_api's publisher; while Redis is away (down or hung) events wait in
the journal and go out afterwards with their original seq. A seq Redis already holds means the
event was published before a crash could mark it, so it is skipped: nothing is published twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.engine import BotEvent
from bot.journal import Journal, OutboxRow
from bot_api.backoff import Backoff
from bot_api.errors import StaleSeqError, TransportError
from bot_api.events import StatusChangeEvent, StatusEvent, TradeExecutedEvent, encode_event
from bot_api.publisher import DURABLE_EVENTS, EventPublisher

logger = logging.getLogger(__name__)

BATCH = 500
DURABLE_TYPES = frozenset(cls.model_fields["type"].default for cls in DURABLE_EVENTS)


class Outbox:
    """Journal-then-publish sink with its flusher (`run`)."""

    def __init__(
        self, journal: Journal, publisher: EventPublisher, *, continue_above: Callable[[int], None]
    ) -> None:
        self._journal = journal
        self._publisher = publisher
        self._continue_above = continue_above
        self._wake = asyncio.Event()
        self._snapshot: StatusEvent | None = None
        self._encoded: tuple[int | None, str] | None = None
        self._outage = False
        self.published = 0

    async def emit(self, event: BotEvent, snapshot: StatusEvent) -> None:
        """Journal `event` with what it changes; the flusher publishes it. Never touches Redis."""
        if event.seq is None:
            raise ValueError("bot events always carry a seq")
        self._journal.append(
            seq=event.seq,
            type_=event.type,
            payload=encode_event(event),
            trade=event.data if isinstance(event, TradeExecutedEvent) else None,
            state=event.data.state if isinstance(event, StatusChangeEvent) else None,
        )
        self._snapshot = snapshot
        self._wake.set()

    async def run(self) -> None:
        """Publish the outbox forever: in order, retried with backoff while Redis is away."""
        backoff = Backoff(initial=0.2, maximum=5.0)
        while True:
            self._wake.clear()  # before reading: an emit from now on wakes the wait below
            rows = self._journal.pending(BATCH)
            if not rows:
                await self._wake.wait()
                continue
            try:
                for row in rows:
                    await self._publish(row)
            except TransportError as exc:
                if not self._outage:  # one line per outage, not one per event
                    logger.warning("Redis unavailable; events wait in the journal: %s", exc)
                    self._outage = True
                self._journal.enforce_limit()
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            if self._outage:
                self._outage = False
                logger.warning("Redis is back; the journal's backlog is published")

    def _snapshot_json(self) -> str | None:
        """The bot's latest snapshot, encoded once per seq (a backlog publishes it many times)."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if self._encoded is None or self._encoded[0] != snapshot.seq:
            self._encoded = (snapshot.seq, encode_event(snapshot))
        return self._encoded[1]

    async def _publish(self, row: OutboxRow) -> None:
        # Every publish carries the latest snapshot, even while a backlog drains: a snapshot
        # ahead of the published events is safe (readers skip what it already covers), while a
        # missing or stale one after Redis lost its data would leave fresh screens behind.
        try:
            await self._publisher.publish_raw(
                row.payload, seq=row.seq, durable=row.type in DURABLE_TYPES, snapshot=self._snapshot_json()
            )
            self.published += 1
        except StaleSeqError as exc:
            if exc.stored > self._journal.last_seq():
                # Redis is ahead of this bot's own journal: another process writes as this bot id
                # (or Redis came from elsewhere). Continue above it and say so loudly.
                logger.error("Redis holds seq %d, ahead of this bot's %d: is another bot running "
                             "with the same BOT_ID? Continuing above it.", exc.stored, row.seq)
                self._continue_above(exc.stored)
            else:
                # Normally an event published just before a crash; after a conflict, the writer's.
                logger.info("Redis already holds seq %d; event skipped", row.seq)
        self._journal.published(row.seq)

    def pending(self) -> int:
        """Events not yet published."""
        return self._journal.pending_count()
