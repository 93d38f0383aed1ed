"""The bot registry on a real Redis: a bot announces itself, readers list every bot with whether it
is alive, an offline bot can be retired (an online one cannot), junk in the set is ignored."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_sync
from redis.asyncio import Redis

from bot_api import registry
from bot_api.errors import ContractError, TransportError
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect
from bot_api.registry import BotSeen, announce, discover, discover_blocking, is_registered, retire_blocking


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(prefix=redis_prefix, bot_id="main")


async def test_an_announced_bot_is_listed_online_until_its_heartbeat_expires(
    redis: Redis, keys: RedisKeys, raw_redis: redis_sync.Redis
) -> None:
    assert await discover(redis, keys) == [] and not await is_registered(redis, keys)
    before = datetime.now(UTC) - timedelta(seconds=1)
    await announce(redis, keys.for_bot("beta"))
    await announce(redis, keys, ttl_ms=1_300)
    listed = await discover(redis, keys)
    assert [(b.bot_id, b.online) for b in listed] == [("beta", True), ("main", True)]  # by id
    assert all(before <= b.last_seen <= datetime.now(UTC) + timedelta(seconds=1) for b in listed)
    assert discover_blocking(raw_redis, keys) == listed  # the same answer for threads
    assert await is_registered(redis, keys)
    time.sleep(0.4)  # main's heartbeat has under a second left (4 s since a 5 s one beat): offline, still listed
    assert [(b.bot_id, b.online) for b in await discover(redis, keys)] == [("beta", True), ("main", False)]


async def test_only_an_offline_bot_is_retired_and_it_comes_back_when_it_runs(
    redis: Redis, keys: RedisKeys, raw_redis: redis_sync.Redis
) -> None:
    await announce(redis, keys.for_bot("up"))
    await announce(redis, keys.for_bot("down"), ttl_ms=1)
    time.sleep(0.01)
    assert retire_blocking(raw_redis, keys, "up") is False  # alive: it would list itself again at once
    assert retire_blocking(raw_redis, keys, "down") is True
    assert retire_blocking(raw_redis, keys, "never") is True  # nothing to remove: done all the same
    assert [b.bot_id for b in discover_blocking(raw_redis, keys)] == ["up"]
    await announce(redis, keys.for_bot("down"))
    assert [b.bot_id for b in discover_blocking(raw_redis, keys)] == ["down", "up"]
    with pytest.raises(ContractError):
        retire_blocking(raw_redis, keys, "not a bot")


async def test_members_that_are_no_bot_id_are_ignored(redis: Redis, keys: RedisKeys) -> None:
    now = int(time.time() * 1000)
    await redis.zadd(keys.bots_registry, {"ok": now, "a b": now, "x:*": now, "é": now, "": now, "evil\n": now})
    assert [b.bot_id for b in await discover(redis, keys)] == ["ok"]


async def test_the_most_recently_seen_bots_are_listed_up_to_the_cap(
    redis: Redis, keys: RedisKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "MAX_BOTS", 3)
    await redis.zadd(keys.bots_registry, {f"bot{n}": 1_700_000_000_000 + n for n in range(6)})
    listed = await discover(redis, keys)
    assert [b.bot_id for b in listed] == ["bot3", "bot4", "bot5"]
    assert listed[0] == BotSeen("bot3", datetime.fromtimestamp(1_700_000_000.003, UTC), online=False)


async def test_without_redis_each_call_raises_the_contracts_transport_error(
    keys: RedisKeys
) -> None:
    client = connect("redis://127.0.0.1:1/0")
    raw_redis = redis_sync.Redis.from_url("redis://127.0.0.1:1/0")
    try:
        for call in (announce(client, keys), discover(client, keys), is_registered(client, keys)):
            with pytest.raises(TransportError):
                await call
        with pytest.raises(TransportError):
            discover_blocking(raw_redis, keys)
        with pytest.raises(TransportError):
            retire_blocking(raw_redis, keys, "main")
    finally:
        await client.aclose()
        raw_redis.close()
