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
from bot_api.keys import RedisKeys
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.consumers import DashboardConsumer
from crypto_bot_ui.dashboard.guard import CLOSE_DEACTIVATED, CLOSE_ROLE_CHANGED, CLOSE_SESSION_ENDED, get_guard
from crypto_bot_ui.dashboard.relay import get_relay
from crypto_bot_ui.trades.models import BotCommand
from tests.conftest import make_operator
from tests.frames import Envelopes, split_frame

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]


@pytest.fixture
async def bot(redis_url: str, redis_prefix: str, settings: Any) -> AsyncIterator[CommandBus]:
    """The web side on this test's keys (the channel layer's too), with a live bot heartbeat;
    yields the bot's command bus."""
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    layer = {"hosts": [{"address": redis_url, "socket_timeout": 10, "socket_connect_timeout": 3}],
             "prefix": RedisKeys(prefix=redis_prefix).channel_layer_prefix}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": layer}}
    keys = bot_link.bot_keys()
    await bot_link.redis_client().set(keys.heartbeat_key, "1", px=60_000)
    yield CommandBus(bot_link.redis_client(), keys)
    await get_guard().listener.aclose()
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
    """The bot_control answering the command this page sent as `command_id` (others are skipped)."""
    envelopes = Envelopes(lambda: communicator.receive_from(10))
    async with asyncio.timeout(10):
        while True:
            frame = await envelopes.next()
            if frame["type"] == "bot_control" and frame["data"]["ref"] == command_id:
                return dict(frame["data"])


async def commands_sent(bus: CommandBus, count: int = 0) -> list[str]:
    """The pages' ids of the commands the bot has been sent, once there are at least `count`."""
    ids: list[str] = []
    cursor = "0-0"
    async with asyncio.timeout(5):
        while True:
            batch = await bus.receive(cursor, block_ms=1 if len(ids) >= count else 1000)
            if not batch:
                return ids
            cursor = batch[-1].entry_id
            ids += [r.command.action.id for r in batch if r.command is not None]


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
            "username", "address", "status", "error")))()
        assert log == [("vera", "10.0.0.9", "error", "forbidden")] * 3
    finally:
        await communicator.disconnect()


async def closed_with(communicator: WebsocketCommunicator) -> int:
    """The close code the server ends this socket with (other frames are skipped)."""
    async with asyncio.timeout(5):
        while (message := await communicator.receive_output(5))["type"] != "websocket.close":
            pass
    return int(message["code"])


async def test_leaving_operators_closes_the_open_page_at_once_and_takes_effect_at_the_next_command(
    bot: CommandBus,
) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    await sync_to_async(make_operator)(olga)
    communicator, _ = await socket_of(olga)
    late, _ = await socket_of(olga)
    try:
        await communicator.send_json_to({"command": "stop_bot", "id": "o1"})
        assert await commands_sent(bot, count=1) == ["o1"]
        # The command racing the change is refused by the permission read per command...
        await sync_to_async(olga.groups.remove)(await sync_to_async(Group.objects.get)(name="Operators"))
        await late.send_json_to({"command": "start_bot", "id": "o2"})
        # ...and the change itself reaches every page of hers as a control message: no poll ran here.
        assert await closed_with(communicator) == CLOSE_ROLE_CHANGED  # the page reloads as a viewer
        assert await commands_sent(bot) == ["o1"]
    finally:
        await communicator.disconnect()
        await late.disconnect()


@pytest.fixture
async def stalled_layer(bot: CommandBus, settings: Any) -> AsyncIterator[None]:
    """A channel layer whose Redis accepts connections and never answers (a hung server)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [{"address": f"redis://127.0.0.1:{port}/0", "socket_timeout": 10, "socket_connect_timeout": 3}]}}}
    yield
    await get_guard().listener.aclose()
    for writer in held:
        writer.close()
    server.close()


async def test_a_hung_channel_layer_holds_up_no_socket_and_the_poll_still_revokes(
    bot: CommandBus, stalled_layer: None
) -> None:
    """Control messages are a shortcut: with their Redis hung, sockets open, commands go, a change
    of access is committed, and the guard's poll closes what it must."""
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    communicator, _ = await socket_of(olga)
    try:
        await communicator.send_json_to({"command": "request_status", "id": "s1"})
        assert await commands_sent(bot, count=1) == ["s1"]
        olga.is_active = False
        async with asyncio.timeout(10):  # the save waits at most LAYER_TIMEOUT for the layer
            await sync_to_async(olga.save)()
        assert await get_guard().check_now() == 1
        assert await closed_with(communicator) == CLOSE_DEACTIVATED
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
        await sync_to_async(olga.save)()  # through Django: pushed to every web process at once
        assert await closed_with(olga_socket) == CLOSE_DEACTIVATED
        await sync_to_async(sam_session.delete)()  # behind Django's back: only the poll can see it
        assert await get_guard().check_now() == 1
        assert await closed_with(sam_socket) == CLOSE_SESSION_ENDED
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


async def test_a_pages_id_is_only_its_reference_the_command_id_is_the_servers(
    bot: CommandBus, operator_and_viewer: tuple[WebsocketCommunicator, WebsocketCommunicator]
) -> None:
    """Two pages (or users) using the same id cannot collide or block each other: every command gets
    a fresh random id from the web process, which the audit log and the bot key it by."""
    olga_socket, vera_socket = operator_and_viewer
    await olga_socket.send_json_to({"command": "stop_bot", "id": "seen-1"})
    assert await commands_sent(bot, count=1) == ["seen-1"]
    await vera_socket.send_json_to({"command": "stop_bot", "id": "seen-1"})  # a viewer replays it
    assert (await answer_to(vera_socket, "seen-1"))["error"] == "forbidden"
    await olga_socket.send_json_to({"command": "stop_bot", "id": "seen-1"})  # and its owner resends it
    assert await commands_sent(bot, count=2) == ["seen-1", "seen-1"]  # a second command, not a replay
    rows = await sync_to_async(lambda: list(BotCommand.objects.order_by("id").values_list(
        "command_id", "username", "status", "refused")))()
    assert [row[1:] for row in rows] == [("olga", "pending", False), ("vera", "error", True),
                                         ("olga", "pending", False)]
    ids = [row[0] for row in rows]
    assert len(set(ids)) == 3 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


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
        assert await closed_with(communicator) == CLOSE_SESSION_ENDED
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
    assert split_frame(await fourth.receive_from(5))[0]["type"] in ("status", "bot_presence")  # served
    for communicator in (second, fourth):
        await communicator.disconnect()
