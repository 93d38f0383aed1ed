"""What Redis keeps of one bot's events: the status snapshot, the last stored seq and the replay
stream. Readers (a web process's relay) resync and replay from here; only the publisher writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.errors import ContractError, TransportError
from bot_api.events import StatusEvent, parse_event
from bot_api.keys import EVENT_FIELD, RedisKeys
from bot_api.subscriber import Received

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGE = 500
"""Stream entries read at a time: a replay too large to be worth it is given up before it is all
in memory."""


def parse_snapshot(raw: str | bytes) -> StatusEvent:
    """A stored status snapshot; ContractError (not retryable) if it is off-contract or no status."""
    event = parse_event(raw)
    if not isinstance(event, StatusEvent):
        raise ContractError("invalid_snapshot", f"the snapshot is a {event.type} event, not a status")
    return event


class StoredEvents:
    """Read one bot's stored events. Every method raises TransportError (retryable) when Redis fails."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def stored_seq(self) -> int:
        """The seq of the bot's last published event (0 if none)."""
        try:
            raw = await self._redis.get(self._keys.seq_key)
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading the stored seq failed: {exc}") from exc
        try:
            return int(raw or 0)
        except ValueError:  # a key someone set to junk: nothing can be replayed against it
            raise TransportError(f"unreadable seq in {self._keys.seq_key}: {raw!r}") from None

    async def snapshot(self) -> Received | None:
        """The bot's latest status envelope, or None if it never published (or it is off-contract)."""
        try:
            raw = await self._redis.get(self._keys.status_key)
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading the snapshot failed: {exc}") from exc
        if not raw:
            return None
        try:
            event = parse_snapshot(raw)
        except ContractError as exc:
            logger.warning("ignoring the stored snapshot: %s", exc.message)
            return None
        return Received(event=event, raw=raw.decode() if isinstance(raw, bytes) else str(raw))

    async def since(
        self, seq: int, *, max_events: int, max_chars: int, keep: Callable[[Received], T]
    ) -> list[T] | None:
        """What `keep` makes of every event after `seq`, in order, from the replay stream.

        None when that is impossible: trimmed out of the window, a gap, more than `max_events`
        events or `max_chars` of them, or `seq` ahead of what Redis holds (Redis lost its data).
        A snapshot is the answer then (cheaper than reading and parsing it all). `keep` runs on
        each event as it is read: a parsed envelope is many times its text, and a replay must
        not hold thousands of them at once.
        """
        stored = await self.stored_seq()
        if seq > stored or stored - seq > max_events:
            return None
        kept: list[T] = []
        seqs: list[int | None] = []
        chars = 0
        start = seq + 1
        while start <= stored:
            # Up to the bot's own seq only: whatever else was added is not its event.
            try:
                entries: Any = await self._redis.xrange(
                    self._keys.events_stream, min=f"{start}-0", max=f"{stored}-0", count=PAGE)
            except (RedisError, OSError) as exc:
                raise TransportError(f"reading the events stream failed: {exc}") from exc
            if not entries:
                break
            for entry_id, fields in entries:
                raw = fields.get(EVENT_FIELD.encode(), b"")
                chars += len(raw)  # junk counts too: it was read all the same
                if chars > max_chars:
                    return None
                received = self._replayable(entry_id, raw)
                if received is not None:
                    seqs.append(received.event.seq)
                    kept.append(keep(received))
            start = int(entries[-1][0].split(b"-")[0]) + 1
        if (not kept and seq < stored) or seqs != list(range(seq + 1, seq + 1 + len(kept))):
            return None
        return kept

    def _replayable(self, entry_id: bytes, raw: bytes) -> Received | None:
        """The event of a stream entry, if it is one of this bot's stored under its own seq."""
        try:
            event = parse_event(raw)
        except ContractError as exc:
            logger.warning("skipping an off-contract stream entry: %s", exc.message)
            return None
        if event.bot != self._keys.bot_id or entry_id != f"{event.seq}-0".encode():
            logger.warning("skipping stream entry %r: not event %s of bot %s", entry_id, event.seq, self._keys.bot_id)
            return None
        return Received(event=event, raw=raw.decode())
