"""One bot's events into the notifier: read with a consumer group, taken into the database, then
acknowledged.

Two streams per bot, one group (`notifier`) on each: the trades stream (durable records, read
also by the recorder's own group) gives the trades; the events stream (the capped replay window)
gives state changes, the exchange's health in each status, and prices for alerts. A trade is in
both; it is taken from the trades stream only. Entries are acknowledged after the transaction
commits, so a notifier killed at any point reads again what it had not taken, and taking it again
changes nothing (notifications are unique per bot and key).

A new group starts at the streams' start, so that a bot that appeared while no notifier ran is told
from its first trade; what happened before the first notifier ever ran under this prefix
(`notifier_since_key`) is skipped unsaid. Entries another notifier read and never acknowledged are
claimed after `claim_idle_ms` (NOTIFIER_CLAIM_IDLE).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot_api.backoff import Backoff
from bot_api.errors import ContractError
from bot_api.events import (
    Envelope,
    PortfolioEvent,
    PriceUpdateEvent,
    StatusChangeEvent,
    StatusEvent,
    TradeExecutedEvent,
    parse_event,
)
from bot_api.keys import EVENT_FIELD, RedisKeys
from bot_api.redis_conn import Where, connect
from crypto_bot_ui.notify import leases, services
from crypto_bot_ui.notify.faults import crash_point
from crypto_bot_ui.notify.routing import Routes

logger = logging.getLogger(__name__)

STANDBY_POLL = 1.0
"""Seconds between two looks, by a notifier standing by, at whether a bot's intake is free."""
RENEW_EVERY = 5.0
"""Seconds between two renewals of a bot's intake lease by its holder (well inside `leases.hold_for()`:
a database write per bot every few seconds, not at every read)."""
BATCH = 200
BLOCK_MS = 1000
FORGET_IDLE_MS = 3_600_000
CLAIM_IDLE_MS = 30_000
"""The default of `Intake.claim_idle_ms`."""
FROM_EVENTS = (StatusChangeEvent, StatusEvent, PriceUpdateEvent, PortfolioEvent)
"""What is taken from the events stream (the trades come from the trades stream)."""


@dataclass
class IntakeStats:
    """Counters a test or an operator can read."""

    entries: int = 0
    batches: int = 0
    notifications: int = 0
    skipped: int = 0


@dataclass
class Intake:
    """Read one bot's two streams as `consumer` of the `notifier` group and take every entry once."""

    redis_url: Where
    """Redis: a URL, or the master its Sentinels name (`bot_link.redis_target()`)."""
    keys: RedisKeys
    consumer: str
    routes: Routes
    public_url: str
    on_taken: Callable[[services.TakeResult], Awaitable[None]]
    """Called after each commit that made something (wakes the channels, sends toasts)."""
    claim_idle_ms: int = CLAIM_IDLE_MS
    """Another notifier's entries unacknowledged this long are taken over (NOTIFIER_CLAIM_IDLE)."""
    stats: IntakeStats = field(default_factory=IntakeStats)
    since: datetime | None = field(default=None, init=False)
    """When the first notifier ran under this prefix: older events are not announced."""
    failing_since: float | None = field(default=None, init=False)
    """Monotonic time since which this intake cannot take entries (None: it can); for the health check."""

    async def run(self) -> None:
        """Loop until cancelled; ride out Redis and database outages with backoff."""
        backoff = Backoff(initial=0.5, maximum=10.0)
        redis: Redis | None = None
        claimed_at = renew_at = 0.0
        while True:
            try:
                # One notifier at a time takes a bot's entries, so its notifications are made in
                # the order of the streams (and sent in it); the others stand by.
                held = leases.Held()
                if time.monotonic() >= renew_at:
                    held = await database_sync_to_async(leases.hold)(name=f"intake:{self.keys.bot_id}",
                                                                     consumer=self.consumer)
                    if held is None:
                        self.failing_since = None  # standing by is healthy
                        await asyncio.sleep(STANDBY_POLL)
                        continue
                    renew_at = time.monotonic() + RENEW_EVERY
                if redis is None:
                    redis = connect(self.redis_url)
                    await self._ensure_groups(redis)
                    await self._read(redis, "0")  # what this consumer held when it last stopped
                if held.taken_from:  # its notifier died: what it had read comes first
                    await self._take_over(redis, held.taken_from)
                if time.monotonic() - claimed_at > self.claim_idle_ms / 1000:
                    await self._claim(redis)  # at start, then every claim_idle_ms: another notifier may have died
                    claimed_at = time.monotonic()
                await self._read(redis, ">")
                self.failing_since = None
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                logger.warning("notifier lost Redis reading bot %s: %s", self.keys.bot_id, exc)
                await _discard(redis)
                redis = None
                self.failing_since = self.failing_since or time.monotonic()
                await asyncio.sleep(backoff.next_delay())
            except Exception as exc:  # noqa: BLE001 - the database: nothing acknowledged, read again later
                logger.warning("notifier could not store bot %s's notifications: %s: %s",
                               self.keys.bot_id, type(exc).__name__, exc)
                await _discard(redis)
                redis = None
                self.failing_since = self.failing_since or time.monotonic()
                await asyncio.sleep(backoff.next_delay())

    @property
    def _streams(self) -> tuple[str, str]:
        return self.keys.trades_stream, self.keys.events_stream

    async def _ensure_groups(self, redis: Redis) -> None:
        """The groups, from the streams' start (a bot that appeared while no notifier ran is told
        from its first trade); what is older than the first notifier's start is skipped unsaid."""
        await redis.set(self.keys.notifier_since_key, int(time.time() * 1000), nx=True)
        since = await redis.get(self.keys.notifier_since_key)
        self.since = datetime.fromtimestamp(int(since) / 1000, UTC) if since else None
        for stream in self._streams:
            try:
                await redis.xgroup_create(stream, self.keys.notifier_group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def _read(self, redis: Redis, start: str) -> None:
        """From `start` ("0": own pending entries, until none; ">": new ones, one blocking read)."""
        cursors: dict[Any, Any] = dict.fromkeys(self._streams, start)
        while True:
            reply: Any = await redis.xreadgroup(self.keys.notifier_group, self.consumer, cursors, count=BATCH,
                                                block=BLOCK_MS if start == ">" else None)
            batches = {_text(stream): entries for stream, entries in (reply or []) if entries}
            if batches:
                await self._take(redis, batches)
            if start == ">" or not batches:
                return
            for stream, entries in batches.items():
                cursors[stream] = _text(entries[-1][0])

    async def _claim(self, redis: Redis) -> None:
        """Take over what another notifier read and never acknowledged."""
        for stream in self._streams:
            cursor = "0-0"
            while True:
                reply: Any = await redis.xautoclaim(stream, self.keys.notifier_group, self.consumer,
                                                    min_idle_time=self.claim_idle_ms, start_id=cursor, count=BATCH)
                cursor = _text(reply[0])
                entries = [entry for entry in reply[1] if entry and entry[1] is not None]
                if entries:
                    logger.info("notifier claimed %d abandoned entries of %s", len(entries), stream)
                    await self._take(redis, {stream: entries})
                if cursor == "0-0":
                    break
            await self._forget_consumers(redis, stream)

    async def _take_over(self, redis: Redis, dead: str) -> None:
        """Take at once the entries the notifier whose lease lapsed had read and not acknowledged
        (they are older than any entry not read yet)."""
        for stream in self._streams:
            while True:
                pending: Any = await redis.xpending_range(stream, self.keys.notifier_group, "-", "+", BATCH,
                                                          consumername=dead)
                if not pending:
                    break
                entries: Any = await redis.xclaim(stream, self.keys.notifier_group, self.consumer, 0,
                                                  [row["message_id"] for row in pending])
                logger.info("notifier took over %d entries of %s from %s", len(pending), stream, dead)
                kept = [entry for entry in entries if entry and entry[1] is not None]
                if kept:
                    await self._take(redis, {stream: kept})
                # Entries the stream trimmed meanwhile come back empty: acknowledged, nothing to tell.
                await redis.xack(stream, self.keys.notifier_group, *[row["message_id"] for row in pending])

    async def _forget_consumers(self, redis: Redis, stream: str) -> None:
        """Remove the group's consumers that hold nothing and were idle for an hour (notifiers whose
        name changed, e.g. with a recreated container): the group's list stays short."""
        consumers: Any = await redis.xinfo_consumers(stream, self.keys.notifier_group)
        for consumer in consumers:
            name = _text(consumer["name"])
            if name != self.consumer and consumer["pending"] == 0 and consumer["idle"] > FORGET_IDLE_MS:
                await redis.xgroup_delconsumer(stream, self.keys.notifier_group, name)

    async def _take(self, redis: Redis, batches: dict[str, list[Any]]) -> None:
        events: list[Envelope] = []
        for stream, entries in batches.items():
            wanted = (TradeExecutedEvent,) if stream == self.keys.trades_stream else FROM_EVENTS
            for _, fields in entries:
                event = self._parse(fields)
                if (isinstance(event, wanted) and event.bot == self.keys.bot_id and event.seq is not None
                        and (self.since is None or event.ts >= self.since)):
                    events.append(event)
                else:
                    self.stats.skipped += 1
        events.sort(key=lambda event: event.seq or 0)
        result = await database_sync_to_async(services.take_events)(
            bot_id=self.keys.bot_id, events=events, routes=self.routes, public_url=self.public_url)
        # Acknowledged only after the commit above: a crash before this line reads them again.
        crash_point("after-commit")
        for stream, entries in batches.items():
            await redis.xack(stream, self.keys.notifier_group, *[entry_id for entry_id, _ in entries])
        self.stats.entries += sum(len(entries) for entries in batches.values())
        self.stats.batches += 1
        self.stats.notifications += result.created
        if result.created or result.toasts:
            await self.on_taken(result)

    def _parse(self, fields: dict[bytes, bytes] | None) -> Envelope | None:
        if not fields:  # a pending entry the stream trimmed meanwhile: acknowledged, nothing to tell
            return None
        try:
            return parse_event(fields.get(EVENT_FIELD.encode(), b""))
        except ContractError as exc:
            # The recorder buries off-contract records; here they only are not announced.
            logger.warning("bot %s: an entry off the contract is not notified: %s", self.keys.bot_id, exc.message)
            return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _discard(redis: Redis | None) -> None:
    if redis is not None:
        try:
            await redis.aclose()
        except (RedisError, OSError):
            logger.debug("closing a broken Redis client failed", exc_info=True)
