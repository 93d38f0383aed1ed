"""Waiting and stopping in asyncio: an event with a bound, and tasks stopped for sure on 3.11 too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

logger = logging.getLogger(__name__)

CANCEL_RETRY_SECONDS = 0.1


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel the tasks and wait until each has really finished, cancelling again as needed.

    On Python 3.11 `asyncio.wait_for` (used by redis-py around socket I/O, and easy to use
    anywhere) returns normally when a cancel arrives just as its inner wait completes: the
    cancel is lost and the task carries on. One cancel is therefore not enough.
    """
    real = [task for task in tasks if task is not None]
    pending = {task for task in real if not task.done()}
    while pending:
        for running in pending:
            running.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_RETRY_SECONDS)
    for task in real:
        if not task.cancelled() and task.exception() is not None:
            logger.debug("%s ended with %r", task.get_name(), task.exception())


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
