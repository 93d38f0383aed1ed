"""The recorder: reads the bot's trade stream with a consumer group and stores every trade.

Entries are acknowledged only after the database transaction commits, so a recorder killed at
any point re-reads what it had not stored; storing is idempotent, so re-reading is harmless.
Entries a crashed recorder left pending are claimed by the next one after `claim_idle_ms`.

An entry that can never be stored (off-contract, another bot's, refused by the database for what
it is) is a poison message: it goes to the dead-letter stream with the reason, is kept for the
admin and acknowledged, so it neither blocks later trades nor stops the recorder on every start.
Only what is about the database rather than the entry (a lost connection, a read-only database)
is retried, with backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import DataError, IntegrityError, close_old_connections, connections

from bot_api.backoff import Backoff
from bot_api.errors import ContractError
from bot_api.events import (
    DURABLE_MODELS,
    BotControlEvent,
    Envelope,
    EquitySnapshotEvent,
    TradeExecutedEvent,
    parse_event,
)
from bot_api.heartbeat import HEARTBEAT_TTL_MS
from bot_api.keys import DEAD_ID_FIELD, DEAD_REASON_FIELD, EVENT_FIELD, RedisKeys
from bot_api.redis_conn import Where, connect_sync
from bot_api.watermark import RAISE_IF_GREATER_LUA
from crypto_bot_ui.trades.services import (
    RecordResult,
    record_command_results,
    record_dead_letter,
    record_equity_snapshots,
    record_trades,
)

logger = logging.getLogger(__name__)

POISON: tuple[type[Exception], ...] = (IntegrityError, DataError, ValueError, ArithmeticError, TypeError)
"""What storing a row raises when the row itself can never be stored: a constraint, a value out of
range, a conversion the driver refuses (SQLite: OverflowError; PostgreSQL: a NUL character...).
Anything else (a lost connection, a read-only database during a failover, a table not yet
migrated) is about the database, not the row: the entries stay pending and are retried."""
DEAD_LETTER_MAXLEN = 10_000
"""Dead letters kept in Redis (the database keeps every one)."""


@dataclass
class RecorderStats:
    """Counters a test or an operator can read."""

    stored: int = 0
    equity: int = 0
    commands: int = 0
    duplicates: int = 0
    dead: int = 0
    batches: int = 0


@dataclass
class Recorder:
    """Consume `keys.trades_stream` as group `keys.recorder_group` and store each trade once."""

    redis_url: Where
    """Redis: a URL, or the master its Sentinels name (`bot_link.redis_target()`)."""
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
                if not self._read_new(client):
                    # Idle: give the database connection back. A recorder process runs a thread per
                    # bot; holding one connection each would exhaust PostgreSQL's (100 by default).
                    connections.close_all()
                if time.monotonic() - last_claim > self.claim_idle_ms / 1000:
                    self._claim_abandoned(client)
                    last_claim = time.monotonic()
            except (redis.RedisError, OSError) as exc:
                logger.warning("recorder lost Redis: %s", exc)
                client = self._discard(client)
                stop.wait(backoff.next_delay())
            except Exception as exc:  # noqa: BLE001 - not a poison row: the database is the problem
                # Nothing was acknowledged: the entries stay pending and are retried.
                logger.warning("recorder could not write to the database: %s: %s", type(exc).__name__, exc)
                close_old_connections()
                client = self._discard(client)
                stop.wait(backoff.next_delay())
        if client is not None:
            self._discard(client)
        connections.close_all()  # this thread's connections; a lingering one blocks DB teardown

    def _connect(self) -> redis.Redis:
        client = connect_sync(self.redis_url, socket_timeout=self.block_ms / 1000 + 5)
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

    def _read_new(self, client: redis.Redis) -> bool:
        """Store what arrived within block_ms; False when nothing did."""
        reply: Any = client.xreadgroup(
            self.keys.recorder_group, self.consumer, {self.keys.trades_stream: ">"},
            count=self.batch_size, block=self.block_ms,
        )
        if reply and reply[0][1]:
            self._handle(client, reply[0][1])
            return True
        return False

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
        """Store a batch of entries; bury what can never be stored; acknowledge them all."""
        parsed: dict[int, tuple[Any, Any]] = {}  # id(event) -> its entry, to bury a refused event
        by_kind: dict[type[Envelope], list[Any]] = {model: [] for model in DURABLE_MODELS}
        dead: list[tuple[Any, Any, str]] = []
        for entry_id, fields in entries:
            event, reason = self._parse(fields)
            if event is None:
                dead.append((entry_id, fields, reason))
                continue
            parsed[id(event)] = (entry_id, fields)
            by_kind[type(event)].append(event)
        stores = self.stores()
        refused = [r for model, events in by_kind.items() for r in self._store_each(events, stores[model])]
        dead.extend((*parsed[id(event)], reason) for event, reason in refused)
        if by_kind[TradeExecutedEvent]:
            # The bot learns what is safely stored (and re-sends the rest if Redis loses data);
            # a buried trade is not waited for: sending it again would not make it storable.
            top = max(event.seq or 0 for event in by_kind[TradeExecutedEvent])
            client.eval(RAISE_IF_GREATER_LUA, 1, self.keys.recorded_seq_key, top)
        for entry_id, fields, reason in dead:
            self._bury(client, entry_id, fields, reason)
        # Acknowledge only after the commit above: a crash before this line re-delivers.
        client.xack(self.keys.trades_stream, self.keys.recorder_group, *[entry_id for entry_id, _ in entries])
        self.stats.batches += 1

    def stores(self) -> dict[type[Envelope], Callable[[list[Any]], None]]:
        """How each kind of record is stored: one entry per durable event of the contract."""
        return {
            TradeExecutedEvent: self._store_trades,
            EquitySnapshotEvent: self._store_equity,
            BotControlEvent: self._store_commands,
        }

    def _store_trades(self, events: list[Any]) -> None:
        result = self.store(events=events)
        self.stats.stored += result.created
        self.stats.duplicates += result.received - result.created
        if result.created:
            logger.info("recorded %d trade(s) (%d already stored)", result.created, result.received - result.created)

    def _store_equity(self, events: list[Any]) -> None:
        self.stats.equity += record_equity_snapshots(events=events)

    def _store_commands(self, events: list[Any]) -> None:
        self.stats.commands += record_command_results(events=events)

    def _store_each(self, events: list[Any], store: Callable[[list[Any]], None]) -> list[tuple[Any, str]]:
        """Store a batch; if the database refuses it, row by row; return the rows refused, with why.

        A row the database will never take (POISON) must not block every later record; any other
        failure is the database's and propagates, to be retried.
        """
        if not events:
            return []
        try:
            store(events)
            return []
        except POISON as exc:
            logger.warning("batch of %d refused by the database (%s); storing row by row", len(events), exc)
        refused: list[tuple[Any, str]] = []
        for event in events:
            try:
                store([event])
            except POISON as exc:
                refused.append((event, f"refused by the database: {type(exc).__name__}: {exc}"))
        return refused

    def _bury(self, client: redis.Redis, entry_id: Any, fields: dict[bytes, bytes], reason: str) -> None:
        """Move an entry to the dead-letter stream with the reason, keep it for the admin, log it once."""
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        payload = fields.get(EVENT_FIELD.encode(), b"") or repr(fields).encode()
        client.xadd(self.keys.dead_letter_stream, {DEAD_ID_FIELD: eid, DEAD_REASON_FIELD: reason, EVENT_FIELD: payload},
                    maxlen=DEAD_LETTER_MAXLEN, approximate=True)
        try:
            record_dead_letter(bot_id=self.keys.bot_id, entry_id=eid, reason=reason,
                               payload=payload.decode("utf-8", "replace").replace("\x00", "\\x00"))
        except POISON:  # the Redis copy above is the one that counts
            logger.exception("could not keep dead letter %s in the database", eid)
        self.stats.dead += 1
        logger.error("trade stream entry %s moved to %s: %s", eid, self.keys.dead_letter_stream, reason)

    def _parse(self, fields: dict[bytes, bytes]) -> tuple[Envelope | None, str]:
        """The entry's record, or None and the reason it is not one of this bot's."""
        try:
            event = parse_event(fields.get(EVENT_FIELD.encode(), b""))
        except ContractError as exc:
            return None, f"off-contract: {exc.message}"
        if not event.durable:
            return None, f"not a record: a {event.type} event"
        if event.bot != self.keys.bot_id:
            return None, f"a record of bot {event.bot!r}, not {self.keys.bot_id!r}"
        return event, ""
