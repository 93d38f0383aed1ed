"""The recorder: reads the bot's trade stream with a consumer group and stores every trade.

Entries are acknowledged only after the database transaction commits, so a recorder killed at
any point re-reads what it had not stored; storing is idempotent, so re-reading is harmless.
Entries a crashed recorder left pending are claimed by the next one after `claim_idle_ms`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import DatabaseError, DataError, IntegrityError, close_old_connections, connections

from bot_api.backoff import Backoff
from bot_api.errors import ContractError
from bot_api.events import BotControlEvent, EquitySnapshotEvent, TradeExecutedEvent, parse_event
from bot_api.heartbeat import HEARTBEAT_TTL_MS
from bot_api.keys import RedisKeys
from bot_api.watermark import RAISE_IF_GREATER_LUA
from crypto_bot_ui.trades.services import (
    RecordResult,
    record_command_results,
    record_equity_snapshots,
    record_trades,
)

logger = logging.getLogger(__name__)

Durable = TradeExecutedEvent | EquitySnapshotEvent | BotControlEvent
"""What the trades stream carries."""


@dataclass
class RecorderStats:
    """Counters a test or an operator can read."""

    stored: int = 0
    equity: int = 0
    commands: int = 0
    duplicates: int = 0
    skipped: int = 0
    batches: int = 0


@dataclass
class Recorder:
    """Consume `keys.trades_stream` as group `keys.recorder_group` and store each trade once."""

    redis_url: str
    keys: RedisKeys
    consumer: str
    batch_size: int = 200
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    store: Callable[..., RecordResult] = record_trades
    stats: RecorderStats = field(default_factory=RecorderStats)

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; survive Redis and database outages with backoff."""
        backoff = Backoff(initial=0.5, maximum=10.0)
        client: redis.Redis | None = None
        last_claim = time.monotonic()
        while not stop.is_set():
            try:
                if client is None:
                    client = self._connect()
                    self._ensure_group(client)
                    # Our own pending entries first (a previous run of this consumer died).
                    self._drain(client, "0")
                    self._claim_abandoned(client)
                    backoff.reset()
                    last_claim = time.monotonic()
                self._beat(client)
                self._read_new(client)
                if time.monotonic() - last_claim > self.claim_idle_ms / 1000:
                    self._claim_abandoned(client)
                    last_claim = time.monotonic()
            except (redis.RedisError, OSError) as exc:
                logger.warning("recorder lost Redis: %s", exc)
                client = self._discard(client)
                stop.wait(backoff.next_delay())
            except DatabaseError as exc:
                # Nothing was acknowledged: the entries stay pending and are retried.
                logger.warning("recorder could not write to the database: %s", exc)
                close_old_connections()
                client = self._discard(client)
                stop.wait(backoff.next_delay())
        if client is not None:
            self._discard(client)
        connections.close_all()  # this thread's connections; a lingering one blocks DB teardown

    def _connect(self) -> redis.Redis:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=self.block_ms / 1000 + 5)
        client.ping()
        logger.info("recorder %s consuming %s", self.consumer, self.keys.trades_stream)
        return client

    def _discard(self, client: redis.Redis | None) -> None:
        if client is not None:
            try:
                client.close()
            except (redis.RedisError, OSError):
                logger.debug("closing a broken Redis client failed", exc_info=True)

    def _ensure_group(self, client: redis.Redis) -> None:
        try:
            client.xgroup_create(self.keys.trades_stream, self.keys.recorder_group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _beat(self, client: redis.Redis) -> None:
        client.set(self.keys.recorder_heartbeat_key, self.consumer, px=HEARTBEAT_TTL_MS)

    def _drain(self, client: redis.Redis, start: str) -> None:
        """Re-process this consumer's pending entries (XREADGROUP from id 0 until empty)."""
        while True:
            reply: Any = client.xreadgroup(
                self.keys.recorder_group, self.consumer, {self.keys.trades_stream: start},
                count=self.batch_size,
            )
            entries = reply[0][1] if reply else []
            if not entries:
                return
            self._handle(client, entries)
            start = entries[-1][0]

    def _read_new(self, client: redis.Redis) -> None:
        reply: Any = client.xreadgroup(
            self.keys.recorder_group, self.consumer, {self.keys.trades_stream: ">"},
            count=self.batch_size, block=self.block_ms,
        )
        if reply:
            self._handle(client, reply[0][1])

    def _claim_abandoned(self, client: redis.Redis) -> None:
        """Take over entries another recorder read but never acknowledged (it died)."""
        cursor = "0-0"
        while True:
            reply: Any = client.xautoclaim(
                self.keys.trades_stream, self.keys.recorder_group, self.consumer,
                min_idle_time=self.claim_idle_ms, start_id=cursor, count=self.batch_size,
            )
            cursor, entries = reply[0], reply[1]
            entries = [e for e in entries if e and e[1] is not None]
            if entries:
                logger.info("recorder claimed %d abandoned entries", len(entries))
                self._handle(client, entries)
            if cursor in (b"0-0", "0-0"):
                return

    def _handle(self, client: redis.Redis, entries: list[Any]) -> None:
        events: list[TradeExecutedEvent] = []
        equity: list[EquitySnapshotEvent] = []
        answers: list[BotControlEvent] = []
        ids: list[Any] = []
        for entry_id, fields in entries:
            ids.append(entry_id)
            event = self._parse(entry_id, fields)
            if isinstance(event, TradeExecutedEvent):
                events.append(event)
            elif isinstance(event, EquitySnapshotEvent):
                equity.append(event)
            elif event is not None:
                answers.append(event)
        result = self._store(events)
        self.stats.equity += record_equity_snapshots(events=equity)
        self.stats.commands += record_command_results(events=answers)
        if events:
            # The bot learns what is safely stored (and re-sends the rest if Redis loses data).
            top = max(event.seq or 0 for event in events)
            client.eval(RAISE_IF_GREATER_LUA, 1, self.keys.recorded_seq_key, top)
        # Acknowledge only after the commit above: a crash before this line re-delivers.
        client.xack(self.keys.trades_stream, self.keys.recorder_group, *ids)
        self.stats.batches += 1
        self.stats.stored += result.created
        self.stats.duplicates += result.received - result.created
        if result.created:
            duplicates = result.received - result.created
            logger.info("recorded %d trade(s) (%d already stored)", result.created, duplicates)

    def _store(self, events: list[TradeExecutedEvent]) -> RecordResult:
        """Store a batch; if the database refuses it, store row by row and skip the refused rows.

        A row the database will never take (a constraint the contract did not catch) must not
        block every later trade; a connection problem (OperationalError) is retried instead.
        """
        try:
            return self.store(events=events)
        except (IntegrityError, DataError):
            logger.warning("batch of %d refused by the database; storing row by row", len(events))
        received = created = 0
        for event in events:
            try:
                one = self.store(events=[event])
            except (IntegrityError, DataError) as exc:
                self.stats.skipped += 1
                logger.error("skipped trade %s: the database refused it: %s", event.data.trade_id, exc)
                continue
            received += one.received
            created += one.created
        return RecordResult(received=received, created=created)

    def _parse(self, entry_id: Any, fields: dict[bytes, bytes]) -> Durable | None:
        try:
            event = parse_event(fields.get(b"e", b""))
        except ContractError as exc:
            self.stats.skipped += 1
            logger.warning("skipped trade stream entry %r: %s", entry_id, exc.message)
            return None
        if not isinstance(event, Durable) or event.bot != self.keys.bot_id:
            self.stats.skipped += 1
            logger.warning("skipped trade stream entry %r: not a record of bot %s", entry_id, self.keys.bot_id)
            return None
        return event
