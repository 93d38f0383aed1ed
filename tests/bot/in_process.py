"""The bot run in-process against a real Redis, and what it publishes read back: for the runner tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis

from bot.config import BotSettings
from bot.runner import run
from bot_api.events import Event, parse_event
from bot_api.keys import RedisKeys
from bot_api.redis_conn import connect

WAIT = 10.0
"""Upper bound for anything the bot should do within about a second."""


class Collector:
    """Reads a bot's events channel in the background; tests wait on conditions, not time."""

    def __init__(self, redis_url: str, keys: RedisKeys) -> None:
        self.events: list[Event] = []
        self._client: Redis = connect(redis_url, for_pubsub=True)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._channel = keys.events_channel
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self._pubsub.subscribe(self._channel)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        while not self._task.done():  # re-cancel: redis-py on 3.11 can swallow one cancel
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=0.1)
        await self._pubsub.aclose()
        await self._client.aclose()

    async def _read(self) -> None:
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            event = parse_event(message["data"])  # off-contract data fails the wait loudly
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Event], bool], *, start: int = 0, count: int = 1) -> Event:
        """Wait until `count` events from index `start` match; return the last of them."""
        async with asyncio.timeout(WAIT), self._changed:
            while True:
                matching = [e for e in self.events[start:] if predicate(e)]
                if len(matching) >= count:
                    return matching[count - 1]
                await self._changed.wait()


def of_type(type_: str) -> Callable[[Event], bool]:
    """A predicate for `Collector.wait_for`: events of `type_`."""
    return lambda e: e.type == type_


@contextlib.asynccontextmanager
async def running(settings: BotSettings) -> AsyncIterator[asyncio.Event]:
    """Run the bot in-process; on exit stop it and require a clean return within 2 s."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop_event=stop))
    try:
        yield stop
    finally:
        stop.set()
        async with asyncio.timeout(2):
            await task
