"""Redis URLs are masked before they are logged or printed; Sentinel settings make a target whose
clients ask the Sentinels for the master (a failover itself: tests/e2e/test_failover.py)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis

from bot_api.redis_conn import RedisTarget, channel_layer_host, connect, connect_sync, mask_url
from bot_api.settings import CommonSettings, SettingError
from tests.sentinels import sentinel_group


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


def test_sentinel_settings_make_a_target_that_keeps_the_urls_credentials() -> None:
    settings = CommonSettings.read({"REDIS_URL": "rediss://app:s3cret@ignored:6379/2",
                                    "REDIS_SENTINELS": "s1:26379, s2,[::1]:26380",
                                    "REDIS_SENTINEL_MASTER": "cryptobot"})
    target = settings.redis
    assert target.sentinels == (("s1", 26379), ("s2", 26379), ("::1", 26380)) and target.master == "cryptobot"
    assert target.master_options() == {"db": 2, "password": "s3cret", "username": "app", "ssl": True}
    assert target.described() == "sentinel master 'cryptobot' via s1:26379,s2:26379,[::1]:26380"
    host = channel_layer_host(target)
    assert host["master_name"] == "cryptobot" and host["sentinels"] == list(target.sentinels)
    assert channel_layer_host("redis://h:1/0")["address"] == "redis://h:1/0"  # no Sentinel: the URL as before
    assert CommonSettings.read({}).redis == RedisTarget(url="redis://127.0.0.1:6379/0")


@pytest.mark.parametrize(("environ", "message"), [
    ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINEL_MASTER: is required with REDIS_SENTINELS"),
    ({"REDIS_SENTINELS": "s1:port", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: each entry must be host:port"),
    ({"REDIS_SENTINELS": "s1:70000", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: each entry must be host:port"),
    ({"REDIS_SENTINELS": "::1", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: each entry must be host:port (an"),
])
def test_bad_sentinel_settings_say_what_to_fix(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingError) as info:
        CommonSettings.read(environ)
    assert str(info.value).startswith(message)


def test_a_client_asks_the_sentinels_and_says_so_when_none_answers() -> None:
    client = connect_sync(RedisTarget(url="redis://x/0", sentinels=(("127.0.0.1", 1),), master="m"))
    with pytest.raises(redis.ConnectionError, match="No master found for 'm'"):
        client.ping()
    client.close()


async def test_clients_through_sentinel_reach_the_master_and_close_their_sentinel_connections(
        tmp_path: Path) -> None:
    def open_to_sentinels() -> int:
        return sum(1 for c in psutil.Process().net_connections("tcp")
                   if c.raddr and c.raddr.port in group.sentinel_ports and c.status == psutil.CONN_ESTABLISHED)

    with sentinel_group(tmp_path) as group:
        target = CommonSettings.read(group.env()).redis
        for _ in range(5):  # as a loop that reconnects after each lost connection
            client = connect(target)
            assert await client.set("sentinel-test", "1") and (await client.info("replication"))["role"] == "master"
            await client.delete("sentinel-test")
            await client.aclose()
            blocking = connect_sync(target)
            assert blocking.ping()
            blocking.close()
        assert open_to_sentinels() == 0, "Sentinel connections left open"
