"""SIGTERM with sockets open: the web process closes them (the pages reconnect elsewhere) and
exits within seconds, every time. Its lifespan stops the relay and the session guard for sure
first: a background loop that lost its one cancel once kept a process alive forever."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.wsclient import read_until
from tests.stack import Browserless, Stack, delete_prefix, running_stack, wait_for

pytestmark = [pytest.mark.e2e]

SOCKETS, ROUNDS, WITHIN = 60, 3, 8.0


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("shutdown"),
                           WS_MAX_SOCKETS_PER_USER=str(SOCKETS)) as running:
            yield running
    finally:
        delete_prefix(redis_url, prefix)


async def open_sockets(stack: Stack, headers: dict[str, str]) -> list[ClientConnection]:
    sockets = [await connect(stack.ws_url, additional_headers=headers, open_timeout=10) for _ in range(SOCKETS)]
    for ws in sockets:
        await read_until(ws, lambda f: f["type"] == "status", 10)
    return sockets


async def test_the_web_process_exits_promptly_with_sockets_open(stack: Stack) -> None:
    session = Browserless(stack.base_url)
    session.login()
    for _ in range(ROUNDS):
        sockets = await open_sockets(stack, session.ws_headers())
        started = time.monotonic()
        code = await asyncio.to_thread(stack.stop, "web", signal.SIGTERM, 30)
        took = time.monotonic() - started
        assert took < WITHIN, f"the web process took {took:.1f} s to exit"
        # Uvicorn ends by raising the signal it caught again: killed by SIGTERM, as asked.
        assert code in (0, -signal.SIGTERM), stack.log("web")[-2000:]
        assert "Finished server process" in stack.log("web")
        for ws in sockets:
            await asyncio.wait_for(ws.wait_closed(), 10)
        assert {ws.close_code for ws in sockets} <= {1001, 1012, 1006}  # going away / service restart
        stack.start("web")
        wait_for(stack.health, 30, "the web server back")
