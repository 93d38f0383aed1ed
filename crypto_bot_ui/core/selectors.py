"""Reads that report on the system's health."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from redis.exceptions import RedisError

from bot_api.errors import ContractError
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


def health_report() -> dict[str, Any]:
    """State of Redis, the database, the bot and the recorder; contains no secrets."""
    keys = bot_keys()
    report: dict[str, Any] = {"redis": "down", "database": "down", "bot": "unknown", "recorder": "unknown",
                              "dead_letters": None}
    report["database"] = "ok" if _database_ok() else "down"
    try:
        redis = sync_redis()
        redis.ping()
        report["redis"] = "ok"
        report["recorder"] = "ok" if redis.exists(keys.recorder_heartbeat_key) else "down"
        report["dead_letters"] = int(redis.xlen(keys.dead_letter_stream))
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
    except (RedisError, OSError) as exc:
        logger.warning("redis health check failed: %s", exc)
    report["status"] = "ok" if report["redis"] == "ok" and report["database"] == "ok" else "degraded"
    report["bot_id"] = keys.bot_id
    return report
