"""Several bots through one web process: each socket carries its own bot only, commands reach the
bot they name, a per-bot operator steers that bot only, and the overview follows every bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections

from bot_api.command_bus import CommandBus
from bot_api.events import MarksData, PriceData, PriceUpdateEvent, StatusChangeData, StatusChangeEvent
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.registry import announce
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.guard import get_guard
from crypto_bot_ui.dashboard.relay import get_relay
from crypto_bot_ui.dashboard.routing import websocket_urlpatterns
from crypto_bot_ui.trades.models import Bot, BotCommand
from tests.frames import Envelopes, status_at

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]


@pytest.fixture
async def web(redis_url: str, redis_prefix: str, settings: Any) -> AsyncIterator[RedisKeys]:
    """The web side on this test's keys, with two live bots (alpha, beta) that published a status."""
    settings.REDIS_URL, settings.REDIS_PREFIX, settings.BOT_ID = redis_url, redis_prefix, "alpha"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    keys = RedisKeys(prefix=redis_prefix, bot_id="alpha")
    for bot_id in ("alpha", "beta"):
        await announce(bot_link.redis_client(), keys.for_bot(bot_id), ttl_ms=60_000)
        await EventPublisher(bot_link.redis_client(), keys.for_bot(bot_id)).publish(
            status_at(1).model_copy(update={"bot": bot_id}), snapshot=status_at(1).model_copy(update={"bot": bot_id}))
    yield keys
    await get_guard().listener.aclose()
    await get_relay().aclose()
    await sync_to_async(connections.close_all)()


async def open_socket(user: User, path: str) -> WebsocketCommunicator:
    from channels.routing import URLRouter

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    await sync_to_async(session.create)()
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope.update({"user": user, "session": session, "client": ("10.0.0.7", 4000)})
    assert (await communicator.connect())[0]
    return communicator


async def until(envelopes: Envelopes, predicate: Any, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            frame = await envelopes.next()
            if seen is not None:
                seen.append(frame)
            if predicate(frame):
                return frame


def reader(communicator: WebsocketCommunicator) -> Envelopes:
    return Envelopes(lambda: communicator.receive_from(10))


def price_of(bot_id: str, seq: int, total: str) -> PriceUpdateEvent:
    marks = MarksData(decimals=2, realized=Decimal(0), unrealized=Decimal(total), total=Decimal(total),
                      cash=Decimal(1000), equity=Decimal(1000) + Decimal(total), positions={})
    data = PriceData(symbol="BTCUSDT", price=Decimal(100 + seq), marks=marks)
    return PriceUpdateEvent(seq=seq, bot=bot_id, data=data)


async def test_a_bot_socket_carries_that_bot_only_and_its_commands_reach_that_bot_only(web: RedisKeys) -> None:
    admin = await sync_to_async(User.objects.create_superuser)("ada", password="pw-ada-12345")
    beta = await open_socket(admin, "/ws/bots/beta/")
    frames = reader(beta)
    seen: list[dict[str, Any]] = []
    first = await until(frames, lambda f: f["type"] == "status", seen)
    assert first["bot"] == "beta"
    listed = await until(frames, lambda f: f["type"] == "bot_list", seen)
    assert listed["data"]["bots"] == ["alpha", "beta"]
    alpha_pub = EventPublisher(bot_link.redis_client(), web.for_bot("alpha"))
    beta_pub = EventPublisher(bot_link.redis_client(), web.for_bot("beta"))
    await alpha_pub.publish(price_of("alpha", 2, "5"))
    await beta_pub.publish(price_of("beta", 2, "7"))
    got = await until(frames, lambda f: f["type"] == "price_update", seen)
    assert got["bot"] == "beta" and got["data"]["marks"]["total"] == "7"
    await beta.send_json_to({"command": "stop_bot", "id": "s1"})
    await asyncio.sleep(0)  # the command goes out before the streams are read
    async with asyncio.timeout(5):
        while not await CommandBus(bot_link.redis_client(), web.for_bot("beta")).receive("0-0", block_ms=100):
            pass
    assert await CommandBus(bot_link.redis_client(), web.for_bot("alpha")).receive("0-0", block_ms=1) == []
    row = await sync_to_async(BotCommand.objects.get)()
    assert (row.bot_id, row.command) == ("beta", "stop_bot")
    assert all(f["bot"] == "beta" for f in seen)
    await beta.disconnect()


async def test_a_forged_event_on_another_bots_channel_never_reaches_its_page(web: RedisKeys) -> None:
    admin = await sync_to_async(User.objects.create_superuser)("ada", password="pw-ada-12345")
    beta = await open_socket(admin, "/ws/bots/beta/")
    frames = reader(beta)
    await until(frames, lambda f: f["type"] == "status")
    forged = price_of("alpha", 2, "99").model_dump_json()
    await bot_link.redis_client().publish(web.for_bot("beta").events_channel, forged)  # alpha's, on beta's channel
    await EventPublisher(bot_link.redis_client(), web.for_bot("beta")).publish(price_of("beta", 2, "1"))
    got = await until(frames, lambda f: f["type"] == "price_update")
    assert (got["bot"], got["data"]["marks"]["total"]) == ("beta", "1")
    await beta.disconnect()


async def test_an_unknown_bot_is_refused_and_a_command_to_an_offline_one_says_so(web: RedisKeys) -> None:
    admin = await sync_to_async(User.objects.create_superuser)("ada", password="pw-ada-12345")
    nobody = await open_socket(admin, "/ws/bots/nobody/")
    error = await until(reader(nobody), lambda f: True)
    assert error["data"]["code"] == "unknown_bot"
    assert (await nobody.receive_output(5))["code"] == 4004
    await bot_link.redis_client().delete(web.for_bot("beta").heartbeat_key)  # beta died; still listed
    beta = await open_socket(admin, "/ws/bots/beta/")
    frames = reader(beta)
    await until(frames, lambda f: f["type"] == "status")
    await beta.send_json_to({"command": "start_bot", "id": "s2"})
    answer = await until(frames, lambda f: f["type"] == "bot_control")
    assert (answer["bot"], answer["data"]["error"]) == ("beta", "bot_offline")
    assert "beta" in answer["data"]["detail"]
    await beta.disconnect()


async def test_an_operator_of_one_bot_steers_it_and_is_refused_on_another(web: RedisKeys) -> None:
    user = await sync_to_async(User.objects.create_user)("opal", password="pw-opal-12345")

    def grant() -> None:
        Bot.objects.create(bot_id="alpha").operators.add(user)
        Bot.objects.create(bot_id="beta")

    await sync_to_async(grant)()
    for bot_id, expected in (("alpha", None), ("beta", "forbidden")):
        socket = await open_socket(user, f"/ws/bots/{bot_id}/")
        frames = reader(socket)
        await until(frames, lambda f: f["type"] == "status")
        await socket.send_json_to({"command": "stop_bot", "id": f"g-{bot_id}"})
        if expected is None:
            async with asyncio.timeout(5):
                while not await CommandBus(bot_link.redis_client(), web.for_bot(bot_id)).receive("0-0", block_ms=100):
                    pass
        else:
            answer = await until(frames, lambda f: f["type"] == "bot_control")
            assert (answer["data"]["error"], answer["bot"]) == (expected, bot_id)
        await socket.disconnect()


async def test_the_overview_lists_every_bot_and_follows_their_figures(web: RedisKeys) -> None:
    viewer = await sync_to_async(User.objects.create_user)("vi", password="pw-vi-12345")
    overview = await open_socket(viewer, "/ws/overview/")
    frames = reader(overview)
    summaries: dict[str, dict[str, Any]] = {}

    def collect(frame: dict[str, Any]) -> bool:
        if frame["type"] == "bot_summary":
            summaries[frame["bot"]] = frame["data"]
        return set(summaries) == {"alpha", "beta"}

    listed = await until(frames, lambda f: f["type"] == "bot_list")
    assert listed["data"]["bots"] == ["alpha", "beta"]
    await until(frames, collect)
    assert summaries["beta"]["online"] is True and summaries["beta"]["state"] == "running"
    assert summaries["alpha"]["state"] == "running"  # the default bot too (its feed is made first)
    publisher = EventPublisher(bot_link.redis_client(), web.for_bot("beta"))
    for seq in range(2, 40):  # faster than the overview's tick: it sends the newest
        await publisher.publish(price_of("beta", seq, str(seq)))
    await publisher.publish(StatusChangeEvent(seq=40, bot="beta", data=StatusChangeData(state="stopped",
                                                                                      previous="running")))
    seen: list[dict[str, Any]] = []
    last = await until(frames, lambda f: f["type"] == "bot_summary" and f["data"]["state"] == "stopped", seen)
    assert last["data"]["pnl"]["total"] == "39" and last["data"]["last_seq"] == 40
    assert all(f["type"] in {"bot_summary", "heartbeat"} for f in seen)
    assert len([f for f in seen if f["type"] == "bot_summary" and f["bot"] == "beta"]) < 10  # conflated
    # A third bot appears; alpha's heartbeat lapses: both are on the overview at once.
    await announce(bot_link.redis_client(), web.for_bot("gamma"), ttl_ms=60_000)
    await bot_link.redis_client().delete(web.for_bot("alpha").heartbeat_key)
    news: set[str] = set()

    def both(frame: dict[str, Any]) -> bool:  # in whichever order they come
        if frame["type"] == "bot_list" and frame["data"]["bots"] == ["alpha", "beta", "gamma"]:
            news.add("listed")
        if frame["type"] == "bot_summary" and frame["bot"] == "alpha" and not frame["data"]["online"]:
            news.add("offline")
        return news == {"listed", "offline"}

    await until(frames, both)
    await overview.disconnect()
