"""API tests: Django's test client, the test database, and the machine's Redis under a test prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client

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


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def viewer(db: None) -> Client:
    """A logged-in user with no special rights."""
    user = User.objects.create_user("vera", password="pw-vera-12345")
    client = Client()
    client.force_login(user)
    return client
