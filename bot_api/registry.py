"""Which bots there are under a prefix: each bot announces itself with its heartbeat, and web
processes and recorders read the list from Redis (nothing to configure). A bot stays listed,
offline, after it stops; an admin retires it from the list (it comes back if it runs again)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis as redis_sync
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.errors import ContractError, TransportError
from bot_api.heartbeat import HEARTBEAT_TTL_MS
from bot_api.keys import RedisKeys, validate_bot_id

MAX_BOTS = 500
"""Most bots listed (the most recently seen first): a registry filled by mistake stays readable."""
STALE_BELOW_MS = 1_000
"""A heartbeat with less than this left to live was last refreshed 4 s ago (a beat a second, a 5 s
TTL): three beats missed, the bot is offline, a second before its key even expires. Read from the
key's own TTL, so no clock of another machine is involved."""


@dataclass(frozen=True)
class BotSeen:
    """One registered bot: when it last beat, and whether its heartbeat is alive now."""

    bot_id: str
    last_seen: datetime
    online: bool


async def announce(redis: Redis, keys: RedisKeys, *, ttl_ms: int = HEARTBEAT_TTL_MS) -> None:
    """Refresh the bot's heartbeat and its place in the registry. Raises TransportError (retryable)."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.heartbeat_key, "1", px=ttl_ms)
            pipe.zadd(keys.bots_registry, {keys.bot_id: _now_ms()})
            await pipe.execute()
    except (RedisError, OSError) as exc:
        raise TransportError(f"announcing bot {keys.bot_id}: {exc}") from exc


async def discover(redis: Redis, keys: RedisKeys) -> list[BotSeen]:
    """Every registered bot, sorted by id. Raises TransportError (retryable)."""
    try:
        members: Any = await redis.zrevrange(keys.bots_registry, 0, MAX_BOTS - 1, withscores=True)
        ids = _valid_ids(members)
        async with redis.pipeline(transaction=False) as pipe:
            for bot_id in ids:
                pipe.pttl(keys.for_bot(bot_id).heartbeat_key)
            alive = await pipe.execute() if ids else []
    except (RedisError, OSError) as exc:
        raise TransportError(f"listing bots: {exc}") from exc
    return _seen(members, ids, alive)


async def is_registered(redis: Redis, keys: RedisKeys) -> bool:
    """Whether `keys.bot_id` is in the registry. Raises TransportError (retryable)."""
    try:
        return await redis.zscore(keys.bots_registry, keys.bot_id) is not None
    except (RedisError, OSError) as exc:
        raise TransportError(f"looking up bot {keys.bot_id}: {exc}") from exc


def discover_blocking(client: redis_sync.Redis, keys: RedisKeys) -> list[BotSeen]:
    """`discover` for threads (REST views, the recorder, admin). Raises TransportError (retryable)."""
    try:
        members: Any = client.zrevrange(keys.bots_registry, 0, MAX_BOTS - 1, withscores=True)
        ids = _valid_ids(members)
        pipe = client.pipeline(transaction=False)
        for bot_id in ids:
            pipe.pttl(keys.for_bot(bot_id).heartbeat_key)
        alive = pipe.execute() if ids else []
    except (RedisError, OSError) as exc:
        raise TransportError(f"listing bots: {exc}") from exc
    return _seen(members, ids, alive)


def retire_blocking(client: redis_sync.Redis, keys: RedisKeys, bot_id: str) -> bool:
    """Remove an offline bot from the list; False (nothing done) while it is alive: it would
    announce itself again within a second. Its records and Redis data stay. Raises TransportError."""
    target = keys.for_bot(validate_bot_id(bot_id))
    try:
        if client.exists(target.heartbeat_key):
            return False
        client.zrem(keys.bots_registry, bot_id)
    except (RedisError, OSError) as exc:
        raise TransportError(f"retiring bot {bot_id}: {exc}") from exc
    return True


def _now_ms() -> int:
    return int(time.time() * 1000)


def _valid_ids(members: Sequence[tuple[bytes | str, float]]) -> list[str]:
    """The members that are bot ids (anything else in the set is ignored, never embedded in a key)."""
    ids = []
    for member, _score in members:
        text = member.decode("utf-8", "replace") if isinstance(member, bytes) else str(member)
        try:
            ids.append(validate_bot_id(text))
        except ContractError:
            continue
    return ids


def _beating(pttl: int) -> bool:
    """Whether a heartbeat key's remaining life (PTTL: -2 gone, -1 no expiry) says the bot beats."""
    return pttl == -1 or pttl >= STALE_BELOW_MS


def _seen(members: Sequence[tuple[bytes | str, float]], ids: list[str], ttls: list[Any]) -> list[BotSeen]:
    scores = {(m.decode("utf-8", "replace") if isinstance(m, bytes) else str(m)): s for m, s in members}
    bots = [BotSeen(bot_id=bot_id, last_seen=datetime.fromtimestamp(scores[bot_id] / 1000, UTC),
                    online=_beating(int(pttl)))
            for bot_id, pttl in zip(ids, ttls, strict=True)]
    return sorted(bots, key=lambda bot: bot.bot_id)
