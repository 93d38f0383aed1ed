"""Run a connection session forever: a new one after each end, with jittered backoff (1 s → 60 s)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot_api.backoff import Backoff

logger = logging.getLogger(__name__)

STABLE_AFTER = 30.0
"""A session that lasted this long resets the backoff: the next failure retries quickly again."""


async def keep_reconnecting(
    session: Callable[[], Awaitable[None]], *, what: str, on_end: Callable[[], None] | None = None
) -> None:
    """Call `session` again and again; every way it ends (error or return) is logged and retried."""
    backoff = Backoff(initial=1.0, maximum=60.0)
    while True:
        started = time.monotonic()
        try:
            await session()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every way a session ends leads to a new one
            logger.warning("%s ended: %s", what, exc)
        if on_end is not None:
            on_end()
        if time.monotonic() - started > STABLE_AFTER:
            backoff.reset()
        await asyncio.sleep(backoff.next_delay())
