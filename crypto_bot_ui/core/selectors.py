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
from crypto_bot_ui.core.bot_link import bot_keys, health_redis

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False


def _dead_letters(redis: Any, keys: RedisKeys, bot_ids: list[str]) -> int:
    """The dead letters of these bots (one round trip)."""
    pipe = redis.pipeline(transaction=False)
    for bot_id in bot_ids:
        pipe.xlen(keys.for_bot(bot_id).dead_letter_stream)
    return sum(int(n) for n in pipe.execute())


def _master(redis: Any) -> dict[str, Any]:
    """The Redis server this process uses: its address, how it was found, and its role there."""
    pool = redis.connection_pool
    if hasattr(pool, "get_master_address"):  # a Sentinel pool: ask them who the master is now
        host, port = pool.get_master_address()
        found_by = "sentinel"
    else:
        options = pool.connection_kwargs
        host, port = options.get("host") or options.get("path", ""), options.get("port")
        found_by = "url"
    role = redis.info("replication").get("role", "unknown")
    return {"address": f"{host}:{port}" if port else str(host), "found_by": found_by, "role": str(role)}


GROUPS = ("recorder", "notifier")
"""The consumer groups whose backlog /api/health reports."""


def _consumer_groups(redis: Any, keys: RedisKeys, bot_ids: list[str]) -> dict[str, dict[str, int | None]]:
    """Each group's backlog over every bot's streams: `lag`, entries not yet delivered to any of its
    consumers (null when Redis cannot tell: before 7.0, or after deletions), and `pending`,
    delivered but not acknowledged (a consumer died holding them: another claims them)."""
    pipe = redis.pipeline(transaction=False)
    for bot_id in bot_ids:
        bot = keys.for_bot(bot_id)
        pipe.xinfo_groups(bot.trades_stream)
        pipe.xinfo_groups(bot.events_stream)
    names = {keys.recorder_group: "recorder", keys.notifier_group: "notifier"}
    totals: dict[str, dict[str, int | None]] = {g: {"lag": 0, "pending": 0} for g in GROUPS}
    for groups in pipe.execute(raise_on_error=False):
        if isinstance(groups, Exception):  # no such stream yet: nothing waits in it
            continue
        for group in groups:
            name = group["name"].decode() if isinstance(group["name"], bytes) else str(group["name"])
            total = totals.get(names.get(name, ""))
            if total is None:
                continue
            lag = group.get("lag")
            total["lag"] = None if lag is None or total["lag"] is None else total["lag"] + int(lag)
            total["pending"] = int(total["pending"] or 0) + int(group.get("pending", 0))
    return totals


def health_report() -> dict[str, Any]:
    """State of Redis (and which server is its master), the database, the default bot, its recorder,
    the notifier, how many bots are listed and online, and the recorders' and notifiers' backlog;
    contains no secrets."""
    keys = bot_keys()
    report: dict[str, Any] = {"redis": "down", "database": "down", "bot": "unknown", "recorder": "unknown",
                              "notifier": "unknown", "dead_letters": None, "bots": None, "redis_master": None,
                              "consumer_groups": None}
    report["database"] = "ok" if _database_ok() else "down"
    try:
        redis = health_redis()
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
        bot_ids = list(dict.fromkeys([keys.bot_id, *(bot.bot_id for bot in listed)]))
        report["dead_letters"] = _dead_letters(redis, keys, bot_ids)
        report["consumer_groups"] = _consumer_groups(redis, keys, bot_ids)
        report["redis_master"] = master = _master(redis)
        if master["role"] != "master":  # a demoted master, not yet left: every write fails there
            report["redis"] = "read-only"
    except (RedisError, OSError, TransportError) as exc:
        logger.warning("redis health check failed: %s", exc)
    report["status"] = "ok" if report["redis"] == "ok" and report["database"] == "ok" else "degraded"
    report["bot_id"] = keys.bot_id
    return report
