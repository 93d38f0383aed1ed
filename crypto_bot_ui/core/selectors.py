"""Reads that report on the system's health."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from redis.exceptions import RedisError

from bot_api.errors import ContractError, TransportError
from bot_api.keys import RedisKeys
from bot_api.registry import discover_blocking
from bot_api.stored import parse_snapshot
from crypto_bot_ui.core.bot_link import bot_keys, sync_redis

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False


def _dead_letters(redis: Any, keys: RedisKeys, listed: list[str]) -> int:
    """The dead letters of the default bot and of every listed one (one round trip)."""
    pipe = redis.pipeline(transaction=False)
    for bot_id in dict.fromkeys([keys.bot_id, *listed]):
        pipe.xlen(keys.for_bot(bot_id).dead_letter_stream)
    return sum(int(n) for n in pipe.execute())


def health_report() -> dict[str, Any]:
    """State of Redis, the database, the default bot, its recorder, the notifier, and how many bots are
    listed and online; contains no secrets."""
    keys = bot_keys()
    report: dict[str, Any] = {"redis": "down", "database": "down", "bot": "unknown", "recorder": "unknown",
                              "notifier": "unknown", "dead_letters": None, "bots": None}
    report["database"] = "ok" if _database_ok() else "down"
    try:
        redis = sync_redis()
        redis.ping()
        report["redis"] = "ok"
        report["recorder"] = "ok" if redis.exists(keys.recorder_heartbeat_key) else "down"
        report["notifier"] = "ok" if redis.exists(keys.notifier_heartbeat_key) else "down"
        state = "offline"
        if redis.exists(keys.heartbeat_key):
            raw = redis.get(keys.status_key)
            state = "online"
            if raw:
                try:
                    state = parse_snapshot(raw).data.state.value
                except ContractError:
                    logger.warning("status snapshot in Redis is off-contract")
        report["bot"] = state
        listed = discover_blocking(redis, keys)
        report["bots"] = {"online": sum(bot.online for bot in listed), "total": len(listed)}
        report["dead_letters"] = _dead_letters(redis, keys, [bot.bot_id for bot in listed])
    except (RedisError, OSError, TransportError) as exc:
        logger.warning("redis health check failed: %s", exc)
    report["status"] = "ok" if report["redis"] == "ok" and report["database"] == "ok" else "degraded"
    report["bot_id"] = keys.bot_id
    return report
