"""The bot's own durable memory: a SQLite file holding its ledger, its seq, its state and its outbox.

Trading must not depend on Redis, so every event is first written here, in the same transaction
as what it changes (a fill and its ledger row, a state change, the seq), and only then published
by the outbox's flusher. A bot killed at any point restarts from this file: same seq numbering,
same portfolio (rebuilt from the ledger), same running/stopped state, and every event that had
not reached Redis yet still waiting in the outbox.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot_api.errors import TransportError
from bot_api.events import SUPERSEDED_TYPES, BotState, TradeData, encode_event, parse_event
from bot_api.models import MAX_SEQ

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 200_000
"""Most unpublished events kept; beyond it the oldest price updates (superseded anyway) go first."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER NOT NULL,
    trade_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxRow:
    """An event waiting to be published: its seq, type and exact JSON text."""

    seq: int
    type: str
    payload: str


class Journal:
    """One bot's SQLite journal (WAL; each write is one short transaction)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in _tx).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut) and keeps writes cheap.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # An id for this journal: the bot marks Redis with it, and a missing mark means Redis
        # lost its data (see bot/reconcile.py).
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('journal_id', ?)", (uuid.uuid4().hex,)
        )

    @property
    def journal_id(self) -> str:
        """This journal's random id (made once, when the file was created)."""
        return str(self._meta("journal_id"))

    def marked_redis(self) -> bool:
        """True once this journal's mark was placed in Redis."""
        return self._meta("marked_redis") == "1"

    def note_marked_redis(self) -> None:
        """Remember that Redis carries this journal's mark."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('marked_redis', '1')")

    def redis_server(self) -> str | None:
        """The run id of the Redis server last reconciled with (None: never)."""
        return self._meta("redis_server")

    def note_redis_server(self, run_id: str) -> None:
        """Remember the Redis server (its run id) whose watermark was last taken."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('redis_server', ?)", (run_id,))

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def last_seq(self) -> int:
        """The seq of the last event written (0 for a new journal)."""
        return int(self._meta("seq") or 0)

    def state(self) -> BotState | None:
        """The running/stopped state last written, or None for a new journal."""
        value = self._meta("state")
        return None if value is None else BotState(value)

    def append(
        self,
        *,
        seq: int,
        type_: str,
        payload: str,
        trade: TradeData | None = None,
        state: BotState | None = None,
    ) -> None:
        """Write one event to the outbox with what it changes (ledger row, state) and its seq."""
        with self._tx() as db:
            db.execute("INSERT INTO outbox (seq, type, payload) VALUES (?, ?, ?)", (seq, type_, payload))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", (str(seq),))
            if trade is not None:
                db.execute(
                    "INSERT INTO ledger (seq, trade_id, data) VALUES (?, ?, ?)",
                    (seq, trade.trade_id, trade.model_dump_json()),
                )
            if state is not None:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('state', ?)", (state.value,))

    def advance_seq(self, seq: int) -> None:
        """Continue numbering above `seq` (Redis holds a higher one); never moves backwards."""
        with self._tx() as db:
            if seq > self.last_seq():
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", (str(seq),))

    def renumber_pending(self, *, above: int) -> int:
        """Give every unpublished event a new seq above `above`, in order; return the new last seq.

        Redis holds a higher seq than this journal ever wrote (another writer with this bot id,
        or Redis from elsewhere): the pending events move above it instead of being refused as
        stale, so no trade waiting here is lost. Their ledger rows move with them.
        """
        with self._tx() as db:
            rows = db.execute("SELECT seq, payload FROM outbox ORDER BY seq").fetchall()
            last = max(above, self.last_seq())
            if last + len(rows) > MAX_SEQ:
                # Only a forged seq key gets here: numbering above it would leave the contract.
                raise TransportError(f"Redis holds seq {above}: no room above it for {len(rows)} events")
            # Every new seq lies above every old one: none collides with a row not yet moved.
            for old, payload in rows:
                last += 1
                event = parse_event(payload).model_copy(update={"seq": last})
                db.execute("UPDATE outbox SET seq = ?, payload = ? WHERE seq = ?", (last, encode_event(event), old))
                db.execute("UPDATE ledger SET seq = ? WHERE seq = ?", (last, old))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", (str(last),))
        if rows:
            logger.warning("renumbered %d unpublished event(s) to continue above seq %d", len(rows), above)
        return last

    def pending(self, limit: int = 500) -> list[OutboxRow]:
        """The oldest unpublished events, in seq order."""
        rows = self._db.execute(
            "SELECT seq, type, payload FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [OutboxRow(int(seq), str(type_), str(payload)) for seq, type_, payload in rows]

    def pending_count(self) -> int:
        """How many events wait to be published."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def published(self, seq: int) -> None:
        """Forget every outbox event up to and including `seq` (they are in Redis)."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
            self._raise_meta(db, "published_seq", seq)

    def published_seq(self) -> int:
        """The highest seq ever published to Redis."""
        return int(self._meta("published_seq") or 0)

    def recorded_seq(self) -> int:
        """The recorder's watermark as last seen: every trade up to it is in the database."""
        return int(self._meta("recorded_seq") or 0)

    def confirm_recorded(self, seq: int) -> None:
        """Raise the recorder's watermark (never lowered: a wiped Redis reports 0)."""
        with self._tx() as db:
            self._raise_meta(db, "recorded_seq", seq)

    def unrecorded_trades(self) -> list[tuple[int, TradeData]]:
        """Published trades above the recorder's watermark, oldest first, with their seq."""
        rows = self._db.execute(
            "SELECT seq, data FROM ledger WHERE seq > ? AND seq <= ? ORDER BY seq",
            (self.recorded_seq(), self.published_seq()),
        ).fetchall()
        return [(int(seq), TradeData.model_validate_json(data)) for seq, data in rows]

    @staticmethod
    def _raise_meta(db: sqlite3.Connection, key: str, value: int) -> None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None or int(row[0]) < value:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def enforce_limit(self, limit: int = OUTBOX_LIMIT) -> int:
        """Drop the oldest events a newer one supersedes (prices) beyond `limit`; return how many."""
        excess = self.pending_count() - limit
        if excess <= 0:
            return 0
        kinds = sorted(SUPERSEDED_TYPES)
        marks = ",".join("?" * len(kinds))  # only placeholders are formatted into the SQL
        query = f"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE type IN ({marks}) ORDER BY seq LIMIT ?)"  # noqa: S608
        with self._tx() as db:
            cursor = db.execute(query, (*kinds, excess))
        logger.warning("outbox over %d events: dropped %d old %s", limit, cursor.rowcount, "/".join(kinds))
        return int(cursor.rowcount)

    def ledger(self) -> list[TradeData]:
        """Every trade the bot ever made, oldest first."""
        rows = self._db.execute("SELECT data FROM ledger ORDER BY seq").fetchall()
        return [TradeData.model_validate_json(data) for (data,) in rows]

    def trade_ids(self) -> list[str]:
        """The ids of every trade in the ledger, oldest first (for reconciliation)."""
        return [str(tid) for (tid,) in self._db.execute("SELECT trade_id FROM ledger ORDER BY seq")]
