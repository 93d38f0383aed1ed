"""A client that takes no data (its TCP window shut): under Uvicorn a send to it waits, a close
too. Such a socket is given up after WS_ACK_WAIT, giving back what it holds, and its close never
holds up the closing of other revoked sockets."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from crypto_bot_ui.dashboard import guard as guard_module
from crypto_bot_ui.dashboard.guard import SessionGuard, Watched, get_guard
from crypto_bot_ui.dashboard.sockets import SOCKETS, GuardedSocket


class Probe(GuardedSocket):
    """A socket that sends one frame as soon as it is in."""

    sender: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if await self.admit(bot_id=None):
            self.sender = asyncio.create_task(self.send_text("a frame the client never takes"))


@pytest.mark.django_db  # Channels closes stale database connections before each handler
async def test_a_socket_whose_sends_wait_too_long_is_given_up_and_gives_back_its_count(settings: Any) -> None:
    blocked = asyncio.Event()

    async def server_send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            blocked.set()
            await asyncio.get_running_loop().create_future()  # the client's window stays shut

    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbound.put({"type": "websocket.connect"})
    probe = Probe()
    user = SimpleNamespace(pk=987_654, is_authenticated=True)
    run = asyncio.create_task(probe({"type": "websocket", "user": user, "path": "/ws/"}, inbound.get, server_send))
    try:
        await asyncio.wait_for(blocked.wait(), 5)
        assert SOCKETS.open.get(user.pk) == 1
        probe.watchdog(time.monotonic() + settings.WS_ACK_WAIT - 1)
        assert not probe.abandoned  # waiting, but not for long yet
        probe.watchdog(time.monotonic() + settings.WS_ACK_WAIT + 1)
        await asyncio.wait_for(run, 5)  # the consumer ended, without an error
        assert probe.abandoned and probe.send_failed
        assert user.pk not in SOCKETS.open and probe.watched is None  # given back
    finally:
        if probe.sender is not None:
            probe.sender.cancel()
        run.cancel()
        await get_guard().aclose()


async def test_a_close_that_hangs_is_given_up_and_holds_up_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard_module, "CLOSE_WAIT", 0.2)
    closed: list[int] = []
    abandoned: list[str] = []

    async def hangs(code: int) -> None:
        await asyncio.get_running_loop().create_future()

    async def closes(code: int) -> None:
        closed.append(code)

    stuck = Watched(1, None, hangs, abandon=abandoned.append)
    fine = Watched(2, None, closes)
    await asyncio.gather(SessionGuard._close(stuck, 4003), SessionGuard._close(fine, 4003))
    assert closed == [4003] and len(abandoned) == 1 and "close waited" in abandoned[0]
