"""The notifier in this process against a real Redis, the test database and a local webhook."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis

from bot_api.events import (
    BotState,
    Side,
    StatusChangeData,
    StatusChangeEvent,
    TradeData,
    TradeExecutedEvent,
)
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.registry import announce
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify.models import Delivery, DeliveryState, Notification
from crypto_bot_ui.notify.notifier import Notifier
from tests.frames import status_at
from tests.stack import wait_for
from tests.webhook_receiver import Received, webhook_receiver

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]


def trade(seq: int, side: Side = Side.BUY, pnl: str = "0", bot: str = "alpha") -> TradeExecutedEvent:
    return TradeExecutedEvent(seq=seq, bot=bot, data=TradeData(
        trade_id=uuid.uuid4().hex, symbol="BTCUSDT", side=side, qty=Decimal("0.015"), price=Decimal("65000.5"),
        quote_qty=Decimal("975.0075"), fee=Decimal("0.97"), fee_asset="USDT", realized_pnl=Decimal(pnl),
        executed_at=datetime.now(UTC)))


@pytest.fixture
def hook() -> Iterator[tuple[str, Received]]:
    with webhook_receiver() as receiver:
        yield receiver


async def registered(redis: Redis, prefix: str, bot_id: str) -> tuple[RedisKeys, EventPublisher]:
    """A bot in the registry (a minute's heartbeat) and the publisher of its events."""
    keys = RedisKeys(prefix=prefix, bot_id=bot_id)
    await announce(redis, keys, ttl_ms=60_000)
    return keys, EventPublisher(redis, keys)


@asynccontextmanager
async def running(notifier: Notifier, redis: Redis, keys: RedisKeys) -> AsyncIterator[Notifier]:
    """The notifier running until the block ends, its groups on `keys`' streams made."""
    task = asyncio.create_task(notifier.run())
    try:
        async with asyncio.timeout(15):
            while not await _has_group(redis, keys):
                await asyncio.sleep(0.05)
        yield notifier
    finally:
        await cancel_and_wait(task)


async def _has_group(redis: Redis, keys: RedisKeys) -> bool:
    for stream in (keys.trades_stream, keys.events_stream):
        try:
            groups: Any = await redis.xinfo_groups(stream)
        except Exception:  # noqa: BLE001 - no stream yet
            return False
        if not any(g["name"] in (b"notifier", "notifier") for g in groups):
            return False
    return True


def make(redis_url: str, keys: RedisKeys, **env: str) -> Notifier:
    notify = NotifySettings.read({"NOTIFIER_NAME": "test-notifier", "NOTIFY_MIN_INTERVAL": "0",
                                  "PUBLIC_URL": "http://dash.example", **env})
    return Notifier(redis_url=redis_url, keys=keys, notify=notify)


async def test_each_trade_and_state_change_is_posted_once(
        redis: Redis, redis_url: str, redis_prefix: str, hook: tuple[str, Received]) -> None:
    url, received = hook
    keys, publisher = await registered(redis, redis_prefix, "alpha")
    async with running(make(redis_url, keys, NOTIFY_WEBHOOK_URL=url), redis, keys):
        await publisher.publish(trade(1))
        await publisher.publish(trade(2, Side.SELL, "12.5"))
        await publisher.publish(StatusChangeEvent(seq=3, bot="alpha", data=StatusChangeData(
            state=BotState.STOPPED, previous=BotState.RUNNING, reason="stopped by admin")))
        posts = await asyncio.to_thread(received.wait_posts, 3)
        # The receiver has them a moment before the notifier has noted them sent.
        await asyncio.to_thread(wait_for, lambda: Delivery.objects.filter(state=DeliveryState.SENT).count() == 3,
                                10, "the deliveries noted as sent")
    assert [(p["bot"], p["kind"], p["seq"]) for p in posts] == [("alpha", "trade", 1), ("alpha", "trade", 2),
                                                                ("alpha", "state", 3)]
    assert "sold 0.015 BTCUSDT at 65,000.50, realized +12.50" in posts[1]["title"]
    assert posts[2]["title"] == "alpha stopped"
    assert posts[0]["link"] == "http://dash.example/bots/alpha/"
    assert set(posts[0]) >= {"bot", "kind", "title", "text", "seq", "ts", "data"}
    assert received.headers[0]["Idempotency-Key"] == f"alpha:trade:{posts[0]['data']['trade']['trade_id']}"
    assert await asyncio.to_thread(lambda: Notification.objects.count()) == 3
    assert await asyncio.to_thread(lambda: Delivery.objects.count()) == 3


async def test_a_failing_webhook_is_retried_and_delivers_in_order(
        redis: Redis, redis_url: str, redis_prefix: str, hook: tuple[str, Received]) -> None:
    url, received = hook
    received.fail_next(2)
    keys, publisher = await registered(redis, redis_prefix, "beta")
    notifier = make(redis_url, keys, NOTIFY_WEBHOOK_URL=url)
    async with running(notifier, redis, keys):
        for dispatcher in notifier.dispatchers:
            dispatcher.backoff.initial = dispatcher.backoff.maximum = 0.05
        for seq in range(1, 6):
            await publisher.publish(trade(seq, bot="beta"))
        posts = await asyncio.to_thread(received.wait_posts, 5)
    assert received.refused == 2
    assert [p["seq"] for p in posts] == [1, 2, 3, 4, 5]


async def test_events_read_again_after_a_restart_make_nothing_twice(
        redis: Redis, redis_url: str, redis_prefix: str, hook: tuple[str, Received]) -> None:
    url, received = hook
    keys, publisher = await registered(redis, redis_prefix, "gamma")
    async with running(make(redis_url, keys, NOTIFY_WEBHOOK_URL=url), redis, keys):
        await publisher.publish(trade(1, bot="gamma"))
        await asyncio.to_thread(received.wait_posts, 1)
    # As if the notifier had died before acknowledging: every entry is pending again.
    await redis.xgroup_setid(keys.trades_stream, "notifier", "0")
    async with running(make(redis_url, keys, NOTIFY_WEBHOOK_URL=url), redis, keys):
        await publisher.publish(trade(2, bot="gamma"))
        posts = await asyncio.to_thread(received.wait_posts, 2)
    assert [p["seq"] for p in posts] == [1, 2]


async def test_apprise_urls_each_get_the_notifications(
        redis: Redis, redis_url: str, redis_prefix: str, hook: tuple[str, Received]) -> None:
    url, received = hook
    keys, publisher = await registered(redis, redis_prefix, "delta")
    apprise_url = url.replace("http://", "json://")  # Apprise's generic JSON webhook, at the local receiver
    async with running(make(redis_url, keys, NOTIFY_URLS=f"{apprise_url}, {apprise_url}?x=2"), redis, keys):
        await publisher.publish(trade(1, Side.SELL, "-3.25", bot="delta"))
        posts = await asyncio.to_thread(received.wait_posts, 2)
    assert [p["title"] for p in posts] == ["delta: sold 0.015 BTCUSDT at 65,000.50, realized \u22123.25"] * 2
    assert "http://dash.example/bots/delta/" in posts[0]["message"]


async def test_the_daily_summary_goes_out_once_at_its_hour_for_a_running_bot(
        redis: Redis, redis_url: str, redis_prefix: str, hook: tuple[str, Received]) -> None:
    url, received = hook
    keys = RedisKeys(prefix=redis_prefix, bot_id="sigma")
    await announce(redis, keys, ttl_ms=60_000)
    status = status_at(5).model_copy(update={"bot": "sigma"})
    await EventPublisher(redis, keys).publish(status, snapshot=status)
    # Hour 0 has passed today wherever the test runs: the summary is due at once, and only once.
    for _ in range(2):
        async with running(make(redis_url, keys, NOTIFY_WEBHOOK_URL=url, DAILY_SUMMARY_HOUR="0"), redis, keys):
            posts = await asyncio.to_thread(received.wait_posts, 1)
            await asyncio.to_thread(wait_for, lambda: Delivery.objects.filter(state=DeliveryState.SENT).count() == 1,
                                    10, "the summary noted as sent")
    assert [p["kind"] for p in received.posts] == ["daily"]
    assert posts[0]["title"].startswith("sigma: daily summary 20")
    assert "Total P&L: 0.00 USDT" in posts[0]["text"]
