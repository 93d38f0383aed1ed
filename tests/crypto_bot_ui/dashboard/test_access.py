"""Who may steer the bot, checked by the server on every command: viewers are refused, a removed
operator at their next command, a deactivated user or an ended session is disconnected; commands
are rate limited and oversize frames refused. A real consumer, Redis and database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections

from bot_api.command_bus import CommandBus
from bot_api.commands import MAX_FRAME_BYTES
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.consumers import DashboardConsumer
from crypto_bot_ui.dashboard.guard import CLOSE_DEACTIVATED, CLOSE_SESSION_ENDED, get_guard
from crypto_bot_ui.dashboard.relay import get_relay
from crypto_bot_ui.trades.models import BotCommand
from tests.conftest import make_operator
from tests.frames import Envelopes

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]


@pytest.fixture
async def bot(redis_url: str, redis_prefix: str, settings: Any) -> AsyncIterator[CommandBus]:
    """The web side on this test's keys, with a live bot heartbeat; yields the bot's command bus."""
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    keys = bot_link.bot_keys()
    await bot_link.redis_client().set(keys.heartbeat_key, "1", px=60_000)
    yield CommandBus(bot_link.redis_client(), keys)
    await get_relay().aclose()
    await sync_to_async(connections.close_all)()


async def socket_of(user: User) -> tuple[WebsocketCommunicator, SessionStore]:
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    await sync_to_async(session.create)()
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope.update({"user": user, "session": session, "client": ("10.0.0.9", 4000)})
    assert (await communicator.connect())[0]
    return communicator, session


async def answer_to(communicator: WebsocketCommunicator, command_id: str) -> dict[str, Any]:
    """The bot_control answering `command_id` (other frames are skipped)."""
    envelopes = Envelopes(lambda: communicator.receive_from(10))
    async with asyncio.timeout(10):
        while True:
            frame = await envelopes.next()
            if frame["type"] == "bot_control" and frame["data"]["id"] == command_id:
                return dict(frame["data"])


async def commands_sent(bus: CommandBus, count: int = 0) -> list[str]:
    """The ids of the commands the bot has been sent, once there are at least `count` (a blocking read)."""
    ids: list[str] = []
    cursor = "0-0"
    async with asyncio.timeout(5):
        while True:
            batch = await bus.receive(cursor, block_ms=1 if len(ids) >= count else 1000)
            if not batch:
                return ids
            cursor = batch[-1].entry_id
            ids += [r.command.id for r in batch if r.command is not None]


async def test_a_viewer_can_watch_but_every_command_that_changes_something_is_refused(bot: CommandBus) -> None:
    viewer = await sync_to_async(User.objects.create_user)("vera", password="pw-vera-12345")
    communicator, _ = await socket_of(viewer)
    try:
        for n, frame in enumerate([{"command": "start_bot"}, {"command": "stop_bot", "close_positions": True},
                                   {"command": "close_position", "symbol": "BTCUSDT"}]):
            await communicator.send_json_to({**frame, "id": f"v{n}"})
            answer = await answer_to(communicator, f"v{n}")
            assert (answer["ok"], answer["error"]) == (False, "forbidden")
        await communicator.send_json_to({"command": "request_status", "id": "v9"})  # reading is allowed
        assert await commands_sent(bot, count=1) == ["v9"]
        log = await sync_to_async(lambda: list(BotCommand.objects.order_by("id").values_list(
            "command_id", "username", "address", "status", "error")))()
        assert log == [(f"v{n}", "vera", "10.0.0.9", "error", "forbidden") for n in range(3)]
    finally:
        await communicator.disconnect()


async def test_leaving_operators_takes_effect_at_the_next_command(bot: CommandBus) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    await sync_to_async(make_operator)(olga)
    communicator, _ = await socket_of(olga)
    try:
        await communicator.send_json_to({"command": "stop_bot", "id": "o1"})
        assert await commands_sent(bot, count=1) == ["o1"]
        await sync_to_async(olga.groups.remove)(await sync_to_async(Group.objects.get)(name="Operators"))
        await communicator.send_json_to({"command": "start_bot", "id": "o2"})  # same socket, no reconnect
        assert (await answer_to(communicator, "o2"))["error"] == "forbidden"
        assert await commands_sent(bot) == ["o1"]
    finally:
        await communicator.disconnect()


async def test_a_deactivated_user_and_an_ended_session_are_disconnected(bot: CommandBus) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    sam = await sync_to_async(User.objects.create_user)("sam", password="pw-sam-123456")
    olga_socket, _ = await socket_of(olga)
    sam_socket, sam_session = await socket_of(sam)
    try:
        assert await get_guard().check_now() == 0  # both fine: nothing closed
        olga.is_active = False
        await sync_to_async(olga.save)()
        await sync_to_async(sam_session.delete)()  # logged out elsewhere
        assert await get_guard().check_now() == 2
        for socket, code in ((olga_socket, CLOSE_DEACTIVATED), (sam_socket, CLOSE_SESSION_ENDED)):
            async with asyncio.timeout(5):
                while (message := await socket.receive_output(5))["type"] != "websocket.close":
                    pass
            assert message["code"] == code
    finally:
        await olga_socket.disconnect()
        await sam_socket.disconnect()


async def test_commands_are_rate_limited_per_user(bot: CommandBus) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    await sync_to_async(make_operator)(olga)
    communicator, _ = await socket_of(olga)
    try:
        for n in range(6):
            await communicator.send_json_to({"command": "request_status", "id": f"r{n}"})
        answer = await answer_to(communicator, "r5")
        assert (answer["ok"], answer["error"]) == (False, "rate_limited")
        assert await commands_sent(bot, count=5) == [f"r{n}" for n in range(5)]
    finally:
        await communicator.disconnect()


async def test_an_oversize_frame_is_refused_and_the_socket_stays(bot: CommandBus) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    communicator, _ = await socket_of(olga)
    try:
        await communicator.send_to(text_data='{"command": "start_bot", "id": "' + "x" * MAX_FRAME_BYTES + '"}')
        envelopes = Envelopes(lambda: communicator.receive_from(10))
        async with asyncio.timeout(10):
            while (frame := await envelopes.next())["type"] != "error":
                pass
        assert frame["data"]["code"] == "frame_too_large"
        await communicator.send_json_to({"command": "request_status", "id": "after"})
        assert await commands_sent(bot, count=1) == ["after"]
    finally:
        await communicator.disconnect()



@pytest.fixture
async def operator_and_viewer(
    bot: CommandBus,
) -> AsyncIterator[tuple[WebsocketCommunicator, WebsocketCommunicator]]:
    """Sockets of olga (an operator) and vera (a viewer), closed after the test."""
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    await sync_to_async(make_operator)(olga)
    vera = await sync_to_async(User.objects.create_user)("vera", password="pw-vera-12345")
    olga_socket, _ = await socket_of(olga)
    vera_socket, _ = await socket_of(vera)
    try:
        yield olga_socket, vera_socket
    finally:
        await olga_socket.disconnect()
        await vera_socket.disconnect()


async def test_a_used_command_id_is_refused_and_the_log_keeps_its_owner(
    bot: CommandBus, operator_and_viewer: tuple[WebsocketCommunicator, WebsocketCommunicator]
) -> None:
    olga_socket, vera_socket = operator_and_viewer
    await olga_socket.send_json_to({"command": "stop_bot", "id": "seen-1"})
    assert await commands_sent(bot, count=1) == ["seen-1"]
    # Replayed by a viewer: refused for what it is; resent by its owner: never re-run.
    for socket, refusal in ((vera_socket, ("forbidden", None)),
                            (olga_socket, ("invalid", "this command id was already used"))):
        await socket.send_json_to({"command": "stop_bot", "id": "seen-1"})
        answer = await answer_to(socket, "seen-1")  # no bot runs here: the only answer is the refusal
        assert (answer["error"], answer["detail"]) == refusal
    assert await commands_sent(bot) == ["seen-1"]
    row = await sync_to_async(BotCommand.objects.get)(command_id="seen-1", refused=False)
    assert (row.username, row.status) == ("olga", "pending")  # untouched by the refusals


async def test_a_refused_command_does_not_take_its_id_from_an_operator(
    bot: CommandBus, operator_and_viewer: tuple[WebsocketCommunicator, WebsocketCommunicator]
) -> None:
    """Found by an attack run: a viewer's refused command with id X was audited, and an operator's
    later command with id X was then refused as already used. A refusal leaves the id free."""
    olga_socket, vera_socket = operator_and_viewer
    await vera_socket.send_json_to({"command": "stop_bot", "id": "squat-1"})
    assert (await answer_to(vera_socket, "squat-1"))["error"] == "forbidden"
    await olga_socket.send_json_to({"command": "stop_bot", "id": "squat-1"})
    assert await commands_sent(bot, count=1) == ["squat-1"]  # it went to the bot
    rows = await sync_to_async(lambda: list(BotCommand.objects.order_by("id").values_list(
        "username", "status", "error", "refused")))()
    assert rows == [("vera", "error", "forbidden", True), ("olga", "pending", "", False)]


async def test_a_password_change_ends_the_open_socket(bot: CommandBus) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    session = SessionStore()
    session.update({"_auth_user_id": str(olga.pk), HASH_SESSION_KEY: olga.get_session_auth_hash()})
    await sync_to_async(session.create)()
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope.update({"user": olga, "session": session})
    assert (await communicator.connect())[0]
    try:
        assert await get_guard().check_now() == 0
        olga.set_password("a-new-one-98765")
        await sync_to_async(olga.save)()
        assert await get_guard().check_now() == 1
        async with asyncio.timeout(5):
            while (message := await communicator.receive_output(5))["type"] != "websocket.close":
                pass
        assert message["code"] == CLOSE_SESSION_ENDED
    finally:
        await communicator.disconnect()


async def test_one_account_cannot_open_sockets_without_end(bot: CommandBus, settings: Any) -> None:
    """Each socket is bounded; so is how many one account holds (per web process)."""
    settings.WS_MAX_SOCKETS_PER_USER = 2
    user = await sync_to_async(User.objects.create_user)("vic", password="pw-vic-12345")
    first, _ = await socket_of(user)
    second, _ = await socket_of(user)
    third, _ = await socket_of(user)  # accepted, told why, then closed
    refused = json.loads(await third.receive_from(5))
    assert refused["data"]["code"] == "too_many_sockets"
    assert (await third.receive_output(5))["code"] == 4029
    await first.disconnect()
    fourth, _ = await socket_of(user)  # one was given back
    assert json.loads(await fourth.receive_from(5))["type"] in ("status", "bot_presence")  # served
    for communicator in (second, fourth):
        await communicator.disconnect()
