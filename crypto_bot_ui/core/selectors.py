"""Reads that report on the system's health."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from redis.exceptions import RedisError

from bot_api.errors import ContractError
from bot_api.events import StatusEvent, parse_event
from bot_api.heartbeat import is_alive
from crypto_bot_ui.core.bot_link import bot_keys, redis_client

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False


async def health_report() -> dict[str, Any]:
    """State of Redis, the database, the bot and the recorder; contains no secrets."""
    keys = bot_keys()
    report: dict[str, Any] = {"redis": "down", "database": "down", "bot": "unknown", "recorder": "unknown"}
    report["database"] = "ok" if await sync_to_async(_database_ok)() else "down"
    try:
        redis = redis_client()
        await redis.ping()
        report["redis"] = "ok"
        bot_alive = await is_alive(redis, keys.heartbeat_key)
        report["recorder"] = "ok" if await is_alive(redis, keys.recorder_heartbeat_key) else "down"
        state = "offline"
        if bot_alive:
            raw = await redis.get(keys.status_key)
            state = "online"
            if raw:
                try:
                    event = parse_event(raw)
                    if isinstance(event, StatusEvent):
                        state = event.data.state.value
                except ContractError:
                    logger.warning("status snapshot in Redis is off-contract")
        report["bot"] = state
    except (RedisError, OSError) as exc:
        logger.warning("redis health check failed: %s", exc)
    report["status"] = "ok" if report["redis"] == "ok" and report["database"] == "ok" else "degraded"
    report["bot_id"] = keys.bot_id
    return report
