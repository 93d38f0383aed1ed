"""The one publisher the bot (and benchmarks) use to put events on Redis."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot_api.errors import SnapshotRequiredError, StaleSeqError, TransportError
from bot_api.events import Envelope, StatusEvent, encode_event
from bot_api.keys import EVENT_FIELD, RedisKeys

logger = logging.getLogger(__name__)

EVENTS_STREAM_MAXLEN = 10_000
"""Replay window: about the last 10k events are kept for resuming clients."""
TRADES_STREAM_MAXLEN = 100_000
"""Bound on unrecorded records (trades, equity points) kept for the recorder (hours of fast trading)."""

# One script, so the event is all-or-nothing: Redis does not roll back a MULTI whose command
# fails, and a seq that is not above what Redis holds (a second bot with the same BOT_ID, a
# restored backup) must change nothing at all. The checks come before the first write.
# The seq floor is the bot's own seq key, never the stream's ids: anyone who can XADD could
# otherwise push the seq anywhere (and make the outbox skip pending events). This script sets the
# key with every entry it adds, so whatever lies after the bot's last entry is foreign: it is
# removed (readers skip such entries anyway) and the number removed returned for the log. A stream
# never hands out an id below the highest it ever took, even one since deleted: if the XADD is
# refused for that, the stream's mark is set back to its top entry and the XADD repeated.
# The snapshot is not sent with every event (it is large). A publisher that relies on Redis
# already holding a usable one asks for NOSNAPSHOT when it does not: no snapshot at all, or a
# hole before this seq (Redis lost events: a restart without, or with lossy, persistence).
# Numbers go back to Python as the key's own text: Lua would print a seq of 1e14 or more as
# "1e+14".
_PUBLISH_LUA = """
local payload, seq, snapshot, durable, field = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[9]
local removed = 0
if seq ~= '' then
  local stored = redis.call('GET', KEYS[2]) or '0'
  local last = tonumber(stored)
  if tonumber(seq) <= last then
    return redis.error_reply('STALESEQ ' .. stored)
  end
  for _ = 1, 50 do
    local foreign = redis.call('XRANGE', KEYS[1], '(' .. stored .. '-0', '+', 'COUNT', 200)
    if #foreign == 0 then break end
    local ids = {}
    for _, entry in ipairs(foreign) do ids[#ids + 1] = entry[1] end
    redis.call('XDEL', KEYS[1], unpack(ids))
    removed = removed + #ids
  end
  if snapshot == '' and ARGV[8] == '1' then
    if tonumber(seq) > last + 1 or redis.call('EXISTS', KEYS[3]) == 0 then
      return redis.error_reply('NOSNAPSHOT')
    end
  end
  local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], seq .. '-0', field, payload)
  if type(added) == 'table' and added.err then
    local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
    redis.call('XSETID', KEYS[1], top[1] and top[1][1] or '0-0')
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], seq .. '-0', field, payload)
  end
  redis.call('SET', KEYS[2], seq)
end
redis.call('PUBLISH', ARGV[5], payload)
if durable == '1' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', field, payload)
end
if snapshot ~= '' then
  redis.call('SET', KEYS[3], snapshot)
end
return removed
"""


class EventPublisher:
    """Publish envelopes atomically: pub/sub, replay stream, seq, snapshot and trade stream."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._script = redis.register_script(_PUBLISH_LUA)

    @property
    def bot_id(self) -> str:
        """The bot this publisher writes for."""
        return self._keys.bot_id

    async def publish(self, event: Envelope, *, snapshot: StatusEvent | None = None) -> str:
        """Send one event (and optionally the status snapshot it leads to); return its JSON.

        Raises StaleSeqError (not retryable) if Redis already holds this seq or a later one,
        and TransportError (retryable) when Redis fails.
        """
        payload = encode_event(event)
        await self.publish_raw(
            payload,
            seq=event.seq,
            durable=event.durable,  # records also go to the trades stream, for the recorder's group
            snapshot=None if snapshot is None else encode_event(snapshot),
        )
        return payload

    async def publish_raw(
        self, payload: str, *, seq: int | None, durable: bool, snapshot: str | None, ensure_snapshot: bool = False
    ) -> None:
        """Send an already-encoded envelope (a journalled event goes out byte for byte).

        Same errors as `publish`; with `ensure_snapshot` and no `snapshot`, also
        SnapshotRequiredError when Redis holds none. The caller vouches that `payload` is valid.
        """
        keys = self._keys
        args = [
            payload,
            "" if seq is None else str(seq),
            snapshot or "",
            "1" if durable else "0",
            keys.events_channel,
            EVENTS_STREAM_MAXLEN,
            TRADES_STREAM_MAXLEN,
            "1" if ensure_snapshot else "0",
            EVENT_FIELD,
        ]
        try:
            removed = await self._script(
                keys=[keys.events_stream, keys.seq_key, keys.status_key, keys.trades_stream], args=args
            )
        except ResponseError as exc:
            if str(exc).startswith("STALESEQ"):
                try:
                    stored = int(str(exc).split()[1])
                except (IndexError, ValueError):  # a seq key someone set to junk
                    raise TransportError(f"publish of {seq}: unreadable seq in Redis: {exc}") from None
                raise StaleSeqError(stored, seq or 0) from None
            if str(exc).startswith("NOSNAPSHOT"):
                raise SnapshotRequiredError(f"no snapshot in Redis for event {seq}") from None
            raise TransportError(f"publish of {seq} failed: {exc}") from exc
        except (RedisError, OSError) as exc:
            raise TransportError(f"publish of {seq} failed: {exc}") from exc
        if removed:
            logger.warning("removed %d foreign entries lying in the way of event %s in %s",
                           removed, seq, keys.events_stream)

    async def store_snapshot(self, snapshot: str) -> None:
        """Replace the status snapshot alone (the bot's latest state once events pause).

        Raises TransportError (retryable) when Redis fails.
        """
        try:
            await self._redis.set(self._keys.status_key, snapshot)
        except (RedisError, OSError) as exc:
            raise TransportError(f"storing the snapshot failed: {exc}") from exc

    async def reconcile_view(self) -> tuple[str | None, int, str]:
        """(journal mark, recorder's watermark, the server's run id), read in one transaction so all
        three come from the same server, even while a failover moves the connection to another.
        Raises TransportError (retryable)."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._keys.journal_mark_key)
                pipe.get(self._keys.recorded_seq_key)
                pipe.info("server")
                mark, watermark, info = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading the journal mark and the watermark failed: {exc}") from exc
        try:
            recorded = int(watermark or 0)
        except ValueError:
            raise TransportError(f"unreadable watermark in {self._keys.recorded_seq_key}: {watermark!r}") from None
        return (mark.decode() if isinstance(mark, bytes) else mark), recorded, str(info.get("run_id", ""))

    async def mark_journal(self, journal_id: str) -> None:
        """Mark Redis with this bot's journal id. Raises TransportError (retryable)."""
        try:
            await self._redis.set(self._keys.journal_mark_key, journal_id)
        except (RedisError, OSError) as exc:
            raise TransportError(f"marking Redis failed: {exc}") from exc

    async def rerecord(self, event: Envelope) -> None:
        """Append a durable event to the trades stream again, alone (for the recorder, after Redis
        lost it; storing is idempotent). Raises TransportError (retryable)."""
        try:
            await self._redis.xadd(self._keys.trades_stream, {EVENT_FIELD: encode_event(event)},
                                   maxlen=TRADES_STREAM_MAXLEN, approximate=True)
        except (RedisError, OSError) as exc:
            raise TransportError(f"re-sending event {event.seq} to the recorder failed: {exc}") from exc

    async def last_seq(self) -> int:
        """Return the last seq published for this bot (0 if none)."""
        try:
            raw = await self._redis.get(self._keys.seq_key)
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading seq failed: {exc}") from exc
        return int(raw) if raw else 0
