"""Redis URLs are masked before they are logged or printed."""

from __future__ import annotations

import pytest

from bot_api.redis_conn import mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://u:pw@host/0", "rediss://u:***@host/0"),
        ("redis://:pw@[::1]:6379", "redis://:***@[::1]:6379"),
        ("redis://host:6379/0?password=pw&db=1", "redis://host:6379/0?password=***&db=1"),
        ("unix:///run/redis.sock?password=pw", "unix:///run/redis.sock?password=***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
