"""The web process's lifespan: shutdown stops the relay's and the session guard's tasks for sure,
then says it is done (Uvicorn would otherwise cancel them once, and a lost cancel hangs the exit)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crypto_bot_ui.dashboard.guard import Watched, get_guard
from crypto_bot_ui.dashboard.lifespan import lifespan
from crypto_bot_ui.dashboard.relay import get_relay

pytestmark = pytest.mark.django_db(transaction=True)


async def test_shutdown_stops_the_background_tasks_then_completes(redis_url: str, settings: Any) -> None:
    settings.REDIS_URL = redis_url
    messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    task = asyncio.create_task(lifespan({"type": "lifespan"}, messages.get, send))
    await messages.put({"type": "lifespan.startup"})
    relay, guard = get_relay(), get_guard()
    relay.start()
    guard.watch(Watched(1, None, lambda code: asyncio.sleep(0), auth_hash=None, can_control=None, bot_id=None,
                        alert_fired=lambda message: asyncio.sleep(0)))
    background = [*relay._tasks, guard._task]
    assert all(t is not None and not t.done() for t in background)
    await messages.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, 10)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert all(t is not None and t.done() for t in background)
    assert get_relay() is not relay and get_guard() is not guard  # a later start gets fresh ones
    await get_guard().aclose()
    await get_relay().aclose()
