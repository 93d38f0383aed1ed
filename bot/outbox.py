"""The engine's sink: write every event to the journal, publish it to Redis later, in seq order.

The engine never waits for Redis: `emit` is a local SQLite write. A separate flusher task
drains the outbox through bot_api's publisher; while Redis is away (down or hung) events wait in
the journal and go out afterwards with their original seq. A seq Redis already holds means the
event was published before a crash could mark it, so it is skipped: nothing is published twice.

The status snapshot (~15 KB) goes along with an event at most every SNAPSHOT_INTERVAL, with every
state change at once, and alone when events pause: readers replay the stream from the
snapshot's seq, so a snapshot a little behind the events costs them nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.journal import Journal, OutboxRow
from bot_api.backoff import Backoff
from bot_api.errors import SnapshotRequiredError, StaleSeqError, TransportError
from bot_api.events import (
    DURABLE_TYPES,
    STATE_CHANGE_TYPES,
    BotEvent,
    StatusChangeEvent,
    StatusEvent,
    TradeExecutedEvent,
    encode_event,
)
from bot_api.publisher import EventPublisher
from bot_api.tasks import wait_event

logger = logging.getLogger(__name__)

BATCH = 500
SNAPSHOT_INTERVAL = 0.25
"""Longest time (s) the snapshot in Redis trails the published events while they flow."""


class SnapshotSource(Protocol):
    """The engine, as the outbox sees it: the seq of its last event and the state as of it."""

    @property
    def seq(self) -> int:
        """The seq of the last emitted event."""
        ...

    def snapshot(self) -> StatusEvent:
        """The full status as of `seq`."""
        ...


class Outbox:
    """Journal-then-publish sink with its flusher (`run`)."""

    def __init__(
        self,
        journal: Journal,
        publisher: EventPublisher,
        source: SnapshotSource,
        *,
        continue_above: Callable[[int], None],
    ) -> None:
        self._journal = journal
        self._publisher = publisher
        self._source = source
        self._continue_above = continue_above
        self._wake = asyncio.Event()
        self._snapshot_seq: int | None = None
        """Seq of the snapshot last written to Redis (None: none yet by this process)."""
        self._snapshot_at = float("-inf")
        self._outage = False
        self.published = 0

    async def emit(self, event: BotEvent) -> None:
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
        self._wake.set()

    async def run(self) -> None:
        """Publish the outbox forever: in order, retried with backoff while Redis is away."""
        backoff = Backoff(initial=0.2, maximum=5.0)
        while True:
            self._wake.clear()  # before reading: an emit from now on wakes the waits below
            rows = self._journal.pending(BATCH)
            try:
                if rows:
                    await self._publish_all(rows)
                elif self._snapshot_behind():
                    due_in = self._snapshot_at + SNAPSHOT_INTERVAL - time.monotonic()
                    if due_in > 0:
                        await wait_event(self._wake, due_in)
                        continue
                    await self._store_snapshot()
                else:
                    await self._wake.wait()
                    continue
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

    def _snapshot_behind(self) -> bool:
        """Whether the engine has moved past the snapshot last written."""
        return self._source.seq > 0 and self._snapshot_seq != self._source.seq

    def _current_snapshot(self) -> tuple[str, int]:
        snapshot = self._source.snapshot()
        return encode_event(snapshot), snapshot.seq or 0

    def _snapshot_for(self, row: OutboxRow) -> tuple[str, int] | None:
        """The snapshot to write with `row`, if one is due."""
        if row.type == StatusEvent.type_name() and row.seq == self._source.seq:
            return row.payload, row.seq  # the event is the current snapshot: no encoding
        due = time.monotonic() - self._snapshot_at >= SNAPSHOT_INTERVAL and self._snapshot_behind()
        if row.type in STATE_CHANGE_TYPES or due:
            # The engine's current state, even ahead of `row` while a backlog drains: readers
            # skip the events a snapshot already covers.
            return self._current_snapshot()
        return None

    def _wrote_snapshot(self, seq: int) -> None:
        self._snapshot_seq, self._snapshot_at = seq, time.monotonic()

    async def _store_snapshot(self) -> None:
        snapshot, seq = self._current_snapshot()
        await self._publisher.store_snapshot(snapshot)
        self._wrote_snapshot(seq)

    async def _publish_all(self, rows: list[OutboxRow]) -> None:
        """Publish `rows` in order; the journal forgets them in one write, even after a failure."""
        done: int | None = None
        try:
            for row in rows:
                ahead = await self._publish(row)
                if ahead is not None:
                    # Forget what went out first: only the rows still pending may move.
                    if done is not None:
                        self._journal.published(done)
                        done = None
                    self._continue_above(self._journal.renumber_pending(above=ahead))
                    return  # the rest were renumbered: the next round reads them afresh
                done = row.seq
        finally:
            # A crash before this write only means re-sending rows Redis refuses as stale.
            if done is not None:
                self._journal.published(done)

    async def _publish(self, row: OutboxRow) -> int | None:
        """Publish one row; the seq Redis holds when it is ahead of this bot's journal, else None."""
        snapshot = self._snapshot_for(row)
        durable = row.type in DURABLE_TYPES
        try:
            try:
                await self._publisher.publish_raw(
                    row.payload, seq=row.seq, durable=durable,
                    snapshot=None if snapshot is None else snapshot[0], ensure_snapshot=True,
                )
            except SnapshotRequiredError:
                # Redis lost data (or never had this bot's): the event brings the snapshot along,
                # atomically, so no reader finds events without the state behind them.
                snapshot = self._current_snapshot()
                await self._publisher.publish_raw(row.payload, seq=row.seq, durable=durable, snapshot=snapshot[0])
            if snapshot is not None:
                self._wrote_snapshot(snapshot[1])
            self.published += 1
        except StaleSeqError as exc:
            if exc.stored > self._journal.last_seq():
                # Redis is ahead of this bot's own journal: another process writes as this bot id
                # (or Redis came from elsewhere). The pending events, this one included, move above
                # it (never dropped: a trade among them must reach the recorder); said loudly.
                logger.error("Redis holds seq %d, ahead of this bot's %d: is another bot running "
                             "with the same BOT_ID? Continuing above it.", exc.stored, row.seq)
                return exc.stored
            # Normally an event published just before a crash; after a conflict, the writer's.
            logger.info("Redis already holds seq %d; event skipped", row.seq)
        return None

    def pending(self) -> int:
        """Events not yet published."""
        return self._journal.pending_count()
