"""The one publisher the bot (and benchmarks) use to put events on Redis."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.errors import TransportError
from bot_api.events import Envelope, StatusEvent, TradeExecutedEvent, encode_event
from bot_api.keys import RedisKeys

logger = logging.getLogger(__name__)

EVENTS_STREAM_MAXLEN = 10_000
"""Replay window: about the last 10k events are kept for resuming clients."""
TRADES_STREAM_MAXLEN = 100_000
"""Bound on unrecorded trades kept for the recorder (hours of fast trading)."""


class EventPublisher:
    """Publish envelopes atomically: pub/sub, replay stream, seq, snapshot and trade stream."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def publish(self, event: Envelope, *, snapshot: StatusEvent | None = None) -> str:
        """Send one event (and optionally the status snapshot it leads to); return its JSON.

        Raises TransportError when Redis fails; the caller decides whether to retry.
        """
        payload = encode_event(event)
        keys = self._keys
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.publish(keys.events_channel, payload)
                if event.seq is not None:
                    pipe.xadd(
                        keys.events_stream,
                        {"e": payload},
                        id=f"{event.seq}-0",
                        maxlen=EVENTS_STREAM_MAXLEN,
                        approximate=True,
                    )
                    pipe.set(keys.seq_key, event.seq)
                if isinstance(event, TradeExecutedEvent):
                    pipe.xadd(
                        keys.trades_stream, {"e": payload}, maxlen=TRADES_STREAM_MAXLEN, approximate=True
                    )
                if snapshot is not None:
                    pipe.set(keys.status_key, encode_event(snapshot))
                await pipe.execute()
        except RedisError as exc:
            raise TransportError(f"publish of {event.seq} failed: {exc}") from exc
        return payload

    async def last_seq(self) -> int:
        """Return the last seq published for this bot (0 if none)."""
        try:
            raw = await self._redis.get(self._keys.seq_key)
        except RedisError as exc:
            raise TransportError(f"reading seq failed: {exc}") from exc
        return int(raw) if raw else 0
