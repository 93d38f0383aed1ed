"""Fixtures of the web side's tests: its settings pointed at this test's Redis keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot_api.keys import RedisKeys
from crypto_bot_ui.core import bot_link


@pytest.fixture
def keys(redis_url: str, redis_prefix: str, settings: object) -> Iterator[RedisKeys]:
    """The web side reads this test's keys (its own prefix on the real Redis)."""
    settings.REDIS_URL = redis_url  # type: ignore[attr-defined]
    settings.REDIS_PREFIX = redis_prefix  # type: ignore[attr-defined]
    settings.BOT_ID = "main"  # type: ignore[attr-defined]
    yield RedisKeys(prefix=redis_prefix)
    bot_link._sync_client.cache_clear()
