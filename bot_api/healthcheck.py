"""`python -m bot_api.healthcheck bot|recorder|notifier`: exit 0 while that process's heartbeat is fresh."""

from __future__ import annotations

import asyncio
import os
import sys

from bot_api.heartbeat import is_alive
from bot_api.redis_conn import connect
from bot_api.settings import CommonSettings

ROLES = ("bot", "recorder", "notifier")
"""The processes that keep a heartbeat in Redis."""


async def _check(role: str) -> bool:
    settings = CommonSettings.read(os.environ)  # the same defaults (and empty = default) as bot and web
    keys = settings.keys
    key = {"bot": keys.heartbeat_key, "recorder": keys.recorder_heartbeat_key,
           "notifier": keys.notifier_heartbeat_key}[role]
    redis = connect(settings.redis)
    try:
        return await is_alive(redis, key)
    finally:
        await redis.aclose()


def main(argv: list[str]) -> int:
    """Return 0 if the named role's heartbeat is present, 1 otherwise."""
    if len(argv) != 2 or argv[1] not in ROLES:
        print("usage: python -m bot_api.healthcheck bot|recorder|notifier", file=sys.stderr)
        return 2
    try:
        return 0 if asyncio.run(_check(argv[1])) else 1
    except Exception as exc:  # noqa: BLE001 - a health check reports, it never raises
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
