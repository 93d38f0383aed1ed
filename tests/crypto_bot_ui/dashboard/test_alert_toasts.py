"""A user's fired alert reaches that user's open sockets only (bot pages and the overview), through the
web process's one control listener, on a real channel layer (Redis); it carries no seq, so neither the
socket's cursor nor its flow-control window moves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connections

from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.consumers import Cursor, DashboardConsumer
from crypto_bot_ui.dashboard.guard import get_guard
from crypto_bot_ui.dashboard.overview import OverviewConsumer
from crypto_bot_ui.dashboard.queues import Mailbox, Subscription
from crypto_bot_ui.dashboard.relay import get_relay
from crypto_bot_ui.notify import toasts
from crypto_bot_ui.notify.services import Toast
from tests.frames import Envelopes, price, status_at

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]

FIRED = datetime(2026, 12, 1, 14, 3, 7, tzinfo=UTC)


def toast(owner: int, text: str = "main BTCUSDT: crossed above 65,000 at 65,012.3") -> Toast:
    return Toast(owner_id=owner, alert_id=7, bot="main", symbol="BTCUSDT", kind="price_above", text=text,
                 value="65012.3", fired_at=FIRED)


@pytest.fixture
async def web(redis_url: str, redis_prefix: str, settings: Any) -> AsyncIterator[None]:
    """The web side and its channel layer on this test's keys, with the bot's snapshot in Redis."""
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    layer = {"hosts": [{"address": redis_url, "socket_timeout": 10, "socket_connect_timeout": 3}],
             "prefix": RedisKeys(prefix=redis_prefix).channel_layer_prefix}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": layer}}
    await EventPublisher(bot_link.redis_client(), bot_link.bot_keys()).publish(price(1), snapshot=status_at(1))
    yield
    await get_guard().listener.aclose()
    await get_relay().aclose()
    await sync_to_async(connections.close_all)()


async def socket(consumer: Any, path: str, user: User) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(consumer.as_asgi(), path)
    communicator.scope["user"] = user
    assert (await communicator.connect())[0]
    return communicator


async def members(user_id: int) -> int:
    """How many channels are in the user's alerts group (the web process's listener: 0 or 1)."""
    layer = get_channel_layer()
    return int(await layer.connection(0).zcard(layer._group_key(toasts.user_group(user_id))))


async def until_members(user_id: int, count: int) -> None:
    async with asyncio.timeout(5):
        while await members(user_id) != count:
            await asyncio.sleep(0.02)


async def alerts_on(communicator: WebsocketCommunicator, *, within: float, count: int = 0) -> list[dict[str, Any]]:
    """The alert_fired envelopes a socket receives for `within` seconds, or until it got `count` of them
    (other frames skipped), with one more second for a stray extra one. An idle
    socket gets a heartbeat every second, so no read waits long (a read that timed out would end it)."""
    envelopes = Envelopes(lambda: communicator.receive_from(5))
    found: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        envelope = await envelopes.next()
        if envelope["type"] == "alert_fired":
            found.append(envelope)
            if len(found) == count:
                deadline = min(deadline, loop.time() + 1)
    return found


async def test_a_fired_alert_reaches_only_its_owners_sockets(web: None) -> None:
    olga = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    sam = await sync_to_async(User.objects.create_user)("sam", password="pw-sam-123456")
    page = await socket(DashboardConsumer, "/ws/dashboard/", olga)
    overview = await socket(OverviewConsumer, "/ws/overview/", olga)
    other = await socket(DashboardConsumer, "/ws/dashboard/", sam)
    try:
        await until_members(olga.pk, 1)  # one membership for her two sockets: the process's listener
        await until_members(sam.pk, 1)
        layer = get_channel_layer()
        # Junk on the group is dropped by the listener, once, for every socket; what follows still arrives.
        await layer.group_send(toasts.user_group(olga.pk), {"type": toasts.MESSAGE_TYPE, "user": olga.pk,
                                                            "frame": status_at(2).model_dump_json()})
        await toasts.send(layer, [toast(olga.pk)])  # as the notifier sends it

        for communicator in (page, overview):
            found = await alerts_on(communicator, within=5, count=1)
            assert len(found) == 1
            assert found[0]["seq"] is None and found[0]["bot"] == "main"
            assert found[0]["data"] == {"alert_id": 7, "symbol": "BTCUSDT", "kind": "price_above",
                                        "text": "main BTCUSDT: crossed above 65,000 at 65,012.3",
                                        "value": "65012.3", "fired_at": "2026-12-01T14:03:07Z"}
        assert await alerts_on(other, within=1) == []  # Sam's page hears nothing of Olga's alerts
        await toasts.send(layer, [toast(sam.pk, "main BTCUSDT: Sam's")])
        assert [e["data"]["text"] for e in await alerts_on(other, within=5, count=1)] == ["main BTCUSDT: Sam's"]
        assert await alerts_on(page, within=0.5) == []
    finally:
        for communicator in (page, overview, other):
            await communicator.disconnect()
    await until_members(olga.pk, 0)  # the last socket gone: the group is left
    await until_members(sam.pk, 0)


async def test_an_alert_goes_out_in_order_and_leaves_the_resume_bookkeeping_alone() -> None:
    consumer = DashboardConsumer()
    consumer.sub = Subscription(Mailbox(10))
    sent: list[str] = []

    async def fake_send(message: dict[str, Any]) -> None:  # the server's send
        if message["type"] != "websocket.send":
            return
        text_data = message.get("text")
        sent.append(text_data or "")

    consumer.base_send = fake_send
    frame = toasts.frame_of(toast(1))
    await consumer.alert_fired({"type": toasts.MESSAGE_TYPE, "user": 1, "frame": frame})
    queued = consumer.sub.queue.get_nowait()
    assert (queued.raw, queued.seq) == (frame, None)  # type: ignore[attr-defined]
    cursor = Cursor(seq=41, started_at=FIRED)
    await consumer._send_new(cursor, queued)  # type: ignore[arg-type]
    assert json.loads(sent[0])["type"] == "alert_fired"
    assert (cursor.seq, consumer.window.top, consumer.window.unacked_events, consumer.window.unacked_bytes) == (
        41, 0, 0, 0)  # no seq: nothing to acknowledge, nothing to resume from
    consumer.sub = None
    await consumer.alert_fired({"type": toasts.MESSAGE_TYPE, "user": 1, "frame": frame})  # closing: dropped
