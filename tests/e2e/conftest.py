"""Fixtures of the end-to-end tests (the `stack` fixture itself lives in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scripts import embedded_redis
from tests.e2e.faults import FAST, Scenario
from tests.stack import Browserless, Stack, running_stack


@pytest.fixture
def session(stack: Stack) -> Browserless:
    """An HTTP session logged in as the admin through the login form."""
    browser = Browserless(stack.base_url)
    browser.login()
    return browser


@pytest.fixture
async def scenario(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Scenario]:
    aof = getattr(request, "param", False)
    redis = embedded_redis.start(tmp_path / "redis", persist=False, aof=aof)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    try:
        with running_stack(redis_url=redis.url, prefix=prefix, tmp=tmp_path, **FAST) as stack:
            s = Scenario(stack, redis, tmp_path, aof)
            await s.start_client()
            try:
                yield s
            finally:
                s.task.cancel()
    finally:
        s.redis.stop() if "s" in locals() else redis.stop()  # a restart may have replaced it
