"""cancel_and_wait stops a task even when one cancel is swallowed."""

from __future__ import annotations

import asyncio
import contextlib

from bot_api.tasks import cancel_and_wait


async def test_a_task_that_swallows_one_cancel_is_still_stopped() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        # What Python 3.11's wait_for does when a cancel races its completion: carry on.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        swallowed.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait(task, None)
    assert swallowed.is_set() and task.cancelled()
