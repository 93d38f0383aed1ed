"""Daphne stays supported (`WEB_SERVER=daphne`): the whole stack under it, in small. Pages and the
API answer, a socket gets its status, a trade and the account after it, a command is obeyed, and
Daphne's own frame limit (1 MiB, the contract's) closes a socket that goes over it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from tests.e2e.wsclient import of_type, read_until
from tests.stack import Browserless, Stack, delete_prefix, running_stack, wait_for

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def daphne(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Bot, recorder and web with WEB_SERVER=daphne."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("daphne"),
                           WEB_SERVER="daphne") as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


async def test_the_dashboard_works_under_daphne(daphne: Stack) -> None:
    session = Browserless(daphne.base_url)
    session.login()
    status, page = session.get("/")
    assert status == 200 and "dashboard" in page.lower()
    assert "daphne" in daphne.log("web").lower()  # it is Daphne that serves, not the default
    async with connect(daphne.ws_url, additional_headers=session.ws_headers(), open_timeout=10, max_size=None) as ws:
        first = await read_until(ws, lambda f: True, 5)
        assert first["type"] == "status"
        trade = await read_until(ws, of_type("trade_executed"), 30)
        account = await read_until(ws, of_type("portfolio"), 5)
        assert account["seq"] == trade["seq"] + 1 and trade["data"]["symbol"] in account["data"]["positions"]
        await ws.send(json.dumps({"command": "stop_bot", "id": "daphne-stop"}))
        answer = await read_until(ws, lambda f: f["type"] == "bot_control" and f["data"]["ref"] == "daphne-stop", 5)
        assert answer["data"]["ok"] is True
        await ws.send("x" * 1_100_000)
        await asyncio.wait_for(ws.wait_closed(), 10)
    wait_for(lambda: (daphne.health() or {}).get("bot") == "stopped", 10, "the bot to report stopped")
