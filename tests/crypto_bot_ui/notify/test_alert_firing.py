"""Users' alerts evaluated on a bot's events: fired once per crossing, recorded, routed, and never
fired again by a restart or by events read twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from redis.asyncio import Redis

from bot_api.events import PriceData, PriceUpdateEvent
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.registry import announce
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify import services
from crypto_bot_ui.notify.models import Alert, AlertFiring, Delivery, Notification, TelegramLink
from crypto_bot_ui.notify.notifier import Notifier
from crypto_bot_ui.notify.routing import Routes
from tests.conftest import make_operator
from tests.stack import wait_for
from tests.webhook_receiver import Received, webhook_receiver

pytestmark = [pytest.mark.db]

LEVEL = Decimal("65000")
START = datetime(2026, 12, 1, 12, tzinfo=UTC)


def prices(values: list[Decimal], *, first_seq: int = 1, bot: str = "main",
           start: datetime = START) -> list[PriceUpdateEvent]:
    return [PriceUpdateEvent(seq=first_seq + i, bot=bot, ts=start + timedelta(seconds=first_seq + i),
                             data=PriceData(symbol="BTCUSDT", price=price)) for i, price in enumerate(values)]


def noisy_path(rng: random.Random, crossings: int) -> list[Decimal]:
    """A path that goes from well below LEVEL to well above it `crossings` times, hovering around
    the level on the way with noise smaller than the alert's band (0.2 %): `crossings` firings."""
    path: list[Decimal] = []
    for _ in range(crossings):
        path += [LEVEL * Decimal("0.99")] + [LEVEL * (1 + Decimal(rng.randint(-15, -1)) / 10_000) for _ in range(5)]
        path += [LEVEL * (1 + Decimal(rng.randint(0, 15)) / 10_000) for _ in range(8)]  # at/above: one firing
        path += [LEVEL * (1 + Decimal(rng.randint(-15, 15)) / 10_000) for _ in range(8)]  # hovering: no more
        path += [LEVEL * Decimal("1.01")]
    return [*path, LEVEL * Decimal("0.99")]


@pytest.fixture
def owner(db: Any) -> User:
    """An operator: the shared channels (Apprise, webhook) carry operators' alerts."""
    user = User.objects.create_user("ada", password="x")
    make_operator(user)
    return user


def alert_for(owner: User, **fields: Any) -> Alert:
    defaults = {"bot_id": "main", "symbol": "BTCUSDT", "kind": "price_above", "level": LEVEL,
                "channels": ["page", "webhook", "telegram"]}
    return Alert.objects.create(owner=owner, **{**defaults, **fields})


ROUTES = Routes(telegram_chats=(77,), telegram_kinds=frozenset({"alert"}), webhook_kinds=frozenset({"alert"}))


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(12))
def test_a_noisy_path_fires_once_per_crossing_in_batches_of_any_size(owner: User, seed: int) -> None:
    rng = random.Random(seed)
    crossings = rng.randint(1, 5)
    alert = alert_for(owner)
    events = prices(noisy_path(rng, crossings))
    toasts = []
    at = 0
    while at < len(events):  # as the intake reads them: batches of varying size
        size = rng.randint(1, 7)
        toasts += services.take_events(bot_id="main", events=events[at:at + size], routes=ROUTES,
                                       public_url="http://x").toasts
        at += size
    assert AlertFiring.objects.filter(alert=alert).count() == crossings
    assert len(toasts) == crossings and {t.owner_id for t in toasts} == {owner.pk}
    assert Notification.objects.filter(kind="alert").count() == crossings
    # Telegram only to the owner's own linked chat: none linked, so the webhook alone.
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"webhook"}


@pytest.mark.django_db
def test_events_read_again_fire_nothing_twice_and_a_fresh_evaluation_continues_from_the_stored_state(
        owner: User) -> None:
    TelegramLink.objects.create(user=owner, telegram_user_id=77, chat_id=77)
    alert = alert_for(owner)
    below, above = [LEVEL - 100] * 3, [LEVEL + 50]
    services.take_events(bot_id="main", events=prices(below + above), routes=ROUTES, public_url="http://x")
    # The same entries again (the notifier died before acknowledging them), then more above the level.
    services.take_events(bot_id="main", events=prices(below + above), routes=ROUTES, public_url="http://x")
    services.take_events(bot_id="main", events=prices([LEVEL + 60] * 5, first_seq=5), routes=ROUTES,
                         public_url="http://x")
    firing = AlertFiring.objects.get(alert=alert)
    assert (firing.seq, firing.value) == (4, LEVEL + 50)
    assert firing.text == "main BTCUSDT: crossed above 65,000 at 65,050"
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["telegram:77", "webhook"]
    alert.refresh_from_db()
    assert alert.state["armed"] is False


@pytest.mark.django_db
def test_a_viewers_alert_goes_to_their_own_chat_and_page_not_to_the_shared_channels() -> None:
    viewer = User.objects.create_user("vic", password="x")
    TelegramLink.objects.create(user=viewer, telegram_user_id=77)  # never wrote: its chat is its user id
    alert_for(viewer, channels=["page", "telegram", "webhook", "apprise"])
    routes = Routes(telegram_chats=(77,), telegram_kinds=frozenset({"alert"}), apprise=("apprise:abc",),
                    apprise_kinds=frozenset({"alert"}), webhook_kinds=frozenset({"alert"}))
    result = services.take_events(bot_id="main", events=prices([LEVEL - 1, LEVEL + 1]), routes=routes,
                                  public_url="http://x")
    assert [t.owner_id for t in result.toasts] == [viewer.pk]
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["telegram:77"]


@pytest.mark.django_db
def test_a_channel_whose_kinds_leave_out_alerts_gets_none(owner: User) -> None:
    alert_for(owner, channels=["webhook"])
    routes = Routes(webhook_kinds=frozenset({"trade"}))
    services.take_events(bot_id="main", events=prices([LEVEL - 1, LEVEL + 1]), routes=routes, public_url="x")
    assert AlertFiring.objects.count() == 1 and not Delivery.objects.exists()


@pytest.mark.django_db
def test_an_alert_no_page_would_accept_is_switched_off_and_stops_nothing_else(owner: User) -> None:
    broken = alert_for(owner, kind="price_move", window_minutes=None)  # saved by hand, without its window
    alert_for(owner)
    services.take_events(bot_id="main", events=prices([LEVEL - 1, LEVEL + 1]), routes=ROUTES, public_url="x")
    broken.refresh_from_db()
    assert broken.enabled is False
    assert AlertFiring.objects.count() == 1


@pytest.mark.django_db
def test_only_enabled_alerts_of_that_bot_and_symbol_are_evaluated(owner: User) -> None:
    alert_for(owner, enabled=False)
    alert_for(owner, bot_id="other")
    alert_for(owner, symbol="ETHUSDT")
    services.take_events(bot_id="main", events=prices([LEVEL - 1, LEVEL + 1]), routes=ROUTES, public_url="http://x")
    assert not AlertFiring.objects.exists()


@pytest.fixture
def hook() -> Iterator[tuple[str, Received]]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.mark.django_db(transaction=True)
async def test_an_alert_survives_a_restart_of_the_notifier_without_firing_again(
        redis: Redis, redis_url: str, redis_prefix: str, owner: User, hook: tuple[str, Received]) -> None:
    url, received = hook
    keys = RedisKeys(prefix=redis_prefix)
    await sync_to_async(alert_for)(owner, channels=["webhook"])
    await announce(redis, keys, ttl_ms=60_000)
    publisher = EventPublisher(redis, keys)
    notify = NotifySettings.read({"NOTIFY_WEBHOOK_URL": url, "NOTIFY_MIN_INTERVAL": "0", "NOTIFIER_NAME": "al"})
    seq = 0

    async def publish(values: list[Decimal]) -> None:
        nonlocal seq
        # Stamped after the notifier's start: what is older than its first run is not announced.
        for event in prices(values, first_seq=seq + 1, start=datetime.now(UTC) + timedelta(hours=1)):
            await publisher.publish(event)
        seq += len(values)

    for round_ in range(2):  # the second run is the restart: the same alert, still above the level
        task = asyncio.create_task(Notifier(redis_url=redis_url, keys=keys, notify=notify).run())
        try:
            await asyncio.to_thread(wait_for, lambda: _grouped(redis_url, keys), 15, "the notifier's groups")
            # After the restart the price dips into the band below the level and back above: a crossing
            # only to an alert that forgot it fired (a fresh state takes the dip as its first side).
            await publish([LEVEL - 10, LEVEL + 10] if round_ == 0 else [LEVEL - 10, LEVEL + 30])
            await publish([LEVEL * 2])  # a marker: once it is taken, so are the prices before it
            await asyncio.to_thread(wait_for, lambda: _taken(redis_url, keys), 15, "every price taken")
        finally:
            await cancel_and_wait(task)
    posts = await asyncio.to_thread(received.wait_posts, 1)
    firings = await sync_to_async(lambda: list(AlertFiring.objects.values_list("seq", flat=True)))()
    assert firings == [2]
    assert [p["kind"] for p in posts] == ["alert"]


def _grouped(redis_url: str, keys: RedisKeys) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return any(g["name"] == b"notifier" for g in client.xinfo_groups(keys.events_stream))
    except redis.ResponseError:
        return False
    finally:
        client.close()


def _taken(redis_url: str, keys: RedisKeys) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        group = next(g for g in client.xinfo_groups(keys.events_stream) if g["name"] == b"notifier")
        last = client.xrevrange(keys.events_stream, count=1)[0][0]
        return bool(group["last-delivered-id"] == last and group["pending"] == 0)
    finally:
        client.close()
