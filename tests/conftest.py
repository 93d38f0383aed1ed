"""Shared fixtures: a real Redis (the machine's, or an embedded one) with per-test key prefixes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from redis.asyncio import Redis

from bot_api.redis_conn import connect
from scripts import embedded_redis
from tests.stack import Stack, delete_prefix, running_stack

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def _plain_static_storage(django_test_environment: None) -> Iterator[None]:
    """In-process tests name static files unhashed, as Django advises: the manifest storage needs
    collectstatic, which the test client does not run. The real servers (tests/stack.py) collect."""
    from django.conf import settings
    from django.test import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}):
        yield


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis: TEST_REDIS_URL / the machine's 127.0.0.1:6379, else an embedded one."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if embedded_redis.redis_answers(url):
        yield url
        return
    server = embedded_redis.start(tmp_path_factory.mktemp("redis"), persist=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """An asyncio client of the test Redis, closed afterwards."""
    client = connect(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis_sync.Redis]:
    """A blocking client of the test Redis (as threads, REST views and the recorder use it)."""
    client = redis_sync.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder for screenshots and other test artifacts (kept after the run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Bot, recorder and web (real processes) with default trading settings, own DB and key prefix."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    tmp = tmp_path_factory.mktemp("stack")
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp) as running:
            yield running
    finally:
        delete_prefix(redis_url, prefix)


def make_operator(user: Any) -> None:
    """Put `user` in the Operators group, with what migrations 0005 and 0011 grant it (made again
    here: a transactional test's flush removes what migrations created, and only permissions come back)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Operators")
    group.permissions.add(*Permission.objects.filter(codename__in=["control_bot", "change_trade_note"],
                                                     content_type__app_label="trades"))
    user.groups.add(group)
