"""What Redis keeps of a bot's events, as readers get it: the snapshot, the seq and the replay."""

from __future__ import annotations

from decimal import Decimal

import pytest
from redis.asyncio import Redis

from bot_api.errors import TransportError
from bot_api.events import PriceData, PriceUpdateEvent, encode_event
from bot_api.keys import EVENT_FIELD, RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect
from bot_api.stored import StoredEvents
from bot_api.subscriber import Received
from tests.frames import price, status_at


def seq_of(received: Received) -> int | None:
    return received.event.seq


async def test_a_replay_is_every_event_after_a_seq_and_skips_what_is_not_the_bots(
    redis: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(prefix=redis_prefix)
    stored = StoredEvents(redis, keys)
    assert (await stored.snapshot(), await stored.stored_seq()) == (None, 0)
    publisher = EventPublisher(redis, keys)
    await publisher.publish(price(1), snapshot=status_at(1))
    for seq in range(2, 6):
        await publisher.publish(price(seq))
    # Foreign entries in the stream: another bot's event under a free id, and junk.
    other = PriceUpdateEvent(seq=3, bot="other", data=PriceData(symbol="BTCUSDT", price=Decimal(1)))
    await redis.xadd(keys.events_stream, {EVENT_FIELD: encode_event(other)}, id="5-1")
    await redis.xadd(keys.events_stream, {EVENT_FIELD: "junk"}, id="5-2")
    snapshot = await stored.snapshot()
    assert snapshot is not None and snapshot.event.seq == 1
    assert await stored.since(1, max_events=100, max_chars=10**6, keep=seq_of) == [2, 3, 4, 5]
    assert await stored.since(5, max_events=100, max_chars=10**6, keep=seq_of) == []
    # What it cannot supply whole is refused, for a snapshot to answer instead.
    assert await stored.since(1, max_events=3, max_chars=10**6, keep=seq_of) is None
    assert await stored.since(1, max_events=100, max_chars=300, keep=seq_of) is None
    assert await stored.since(9, max_events=100, max_chars=10**6, keep=seq_of) is None  # Redis lost data
    await redis.xdel(keys.events_stream, "3-0")
    assert await stored.since(1, max_events=100, max_chars=10**6, keep=seq_of) is None  # a gap


async def test_a_redis_that_does_not_answer_is_a_transport_error(redis_prefix: str) -> None:
    client = connect("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(TransportError):
            await StoredEvents(client, RedisKeys(prefix=redis_prefix)).since(
                0, max_events=10, max_chars=10, keep=seq_of)
    finally:
        await client.aclose()
