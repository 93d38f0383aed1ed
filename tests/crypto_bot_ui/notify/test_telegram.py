"""Telegram both ways against the local fake Bot API: notifications (one message, digests within
the per-chat limit) and commands (allowed chats only; control for linked operators, audited)."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from redis.asyncio import Redis

from bot_api.command_bus import CommandBus
from bot_api.events import Side, TradeData, TradeExecutedEvent
from bot_api.keys import RedisKeys
from bot_api.publisher import EventPublisher
from bot_api.registry import announce
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify.models import TelegramLink
from crypto_bot_ui.notify.notifier import Notifier
from crypto_bot_ui.trades.models import BotCommand
from tests.conftest import make_operator
from tests.telegram_fake import FakeTelegram
from tests.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]

TOKEN = "7000000001:AAtest-token-for-the-fake"
OPS_CHAT, VIEW_CHAT, STRANGER_CHAT = 1001, 1002, 1003
OPS_USER, VIEW_USER, STRANGER = 501, 502, 503


def trade(seq: int, bot: str) -> TradeExecutedEvent:
    price = Decimal(65000 + seq)  # each trade's line is told apart by its price
    return TradeExecutedEvent(seq=seq, bot=bot, data=TradeData(
        trade_id=uuid.uuid4().hex, symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.001"), price=price,
        quote_qty=price / 1000, fee=Decimal("0.06"), fee_asset="USDT", realized_pnl=Decimal(0),
        executed_at=datetime.now(UTC)))


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram(TOKEN, per_chat_interval=1.0).start_in_thread()
    try:
        yield telegram
    finally:
        telegram.stop()


def settings_for(fake: FakeTelegram, **env: str) -> NotifySettings:
    return NotifySettings.read({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.api_url,
                                "TELEGRAM_CHAT_IDS": f"{OPS_CHAT},{VIEW_CHAT}", "NOTIFIER_NAME": "tg-test",
                                "PUBLIC_URL": "https://dash.example", **env})


@asynccontextmanager
async def running(notifier: Notifier, redis: Redis, keys: RedisKeys) -> AsyncIterator[None]:
    task = asyncio.create_task(notifier.run())
    try:
        async with asyncio.timeout(15):
            while not await _grouped(redis, keys):
                await asyncio.sleep(0.05)
        yield
    finally:
        await cancel_and_wait(task)


async def _grouped(redis: Redis, keys: RedisKeys) -> bool:
    try:
        groups: Any = await redis.xinfo_groups(keys.trades_stream)
    except Exception:  # noqa: BLE001 - the stream is not made yet
        return False
    return bool(groups)


def prices_in(texts: list[str]) -> list[str]:
    """The trades' prices told: a single message's title line, or a digest's bullet lines."""
    lines = []
    for text in texts:
        first, *rest = text.splitlines()
        lines += [line for line in rest if line.startswith("• ")] if re.match(r"\d+ trades from", first) else [first]
    return re.findall(r"at (65,\d{3}\.\d{2})", "\n".join(lines))


async def test_a_burst_of_trades_becomes_digests_within_the_chat_limit_with_every_trade_once(
        redis: Redis, redis_url: str, redis_prefix: str, fake: FakeTelegram) -> None:
    keys = RedisKeys(prefix=redis_prefix, bot_id="alpha")
    await announce(redis, keys, ttl_ms=60_000)
    publisher = EventPublisher(redis, keys)
    notifier = Notifier(redis_url=redis_url, keys=keys, notify=settings_for(fake, TELEGRAM_CHAT_IDS=str(OPS_CHAT)))
    async with running(notifier, redis, keys):
        await publisher.publish(trade(1, "alpha"))
        await fake.wait_for(lambda: len(fake.sent) == 1, 10, "the first trade's message")
        assert fake.sent[0]["text"].startswith("alpha: bought 0.001 BTCUSDT at 65,001.00")
        assert "https://dash.example/bots/alpha/" in fake.sent[0]["text"]
        for seq in range(2, 52):  # 50 trades in 5 s
            await publisher.publish(trade(seq, "alpha"))
            await asyncio.sleep(0.1)
        await fake.wait_for(lambda: len(prices_in([m["text"] for m in fake.sent])) >= 51, 20, "every trade told")
    texts = [m["text"] for m in fake.sent]
    prices = prices_in(texts)
    assert sorted(prices) == sorted(f"65,{n:03d}.00" for n in range(1, 52))  # all, each once
    assert fake.throttled == 0  # never over Telegram's limit
    assert len(texts) <= 8, texts  # digests, not 51 messages
    assert any(re.match(r"\d+ trades from alpha", text) for text in texts)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(fake.sent)]
    assert min(gaps) >= 0.99


def _users() -> tuple[User, User]:
    operator = User.objects.create_user("olga", password="x")
    make_operator(operator)
    viewer = User.objects.create_user("victor", password="x")
    TelegramLink.objects.create(user=operator, telegram_user_id=OPS_USER)
    TelegramLink.objects.create(user=viewer, telegram_user_id=VIEW_USER)
    return operator, viewer


async def test_an_operator_stops_the_bot_from_telegram_a_viewer_cannot_a_stranger_gets_nothing(
        redis: Redis, redis_url: str, keys: RedisKeys, fake: FakeTelegram) -> None:
    await sync_to_async(_users)()
    await announce(redis, keys, ttl_ms=60_000)
    notifier = Notifier(redis_url=redis_url, keys=keys, notify=settings_for(fake))
    async with running(notifier, redis, keys):
        await fake.wait_for(lambda: fake.polling > 0, 10, "the bot to poll")
        # The commands and the menu are set up once polling runs (their calls follow it).
        await fake.wait_for(lambda: None in fake.menu_buttons, 10, "the menu button")
        assert [c["command"] for c in fake.my_commands()][:2] == ["status", "profit"]
        assert fake.menu_buttons[None]["web_app"]["url"] == "https://dash.example/telegram/app/"

        fake.user_says(STRANGER_CHAT, STRANGER, "/status")
        fake.user_says(OPS_CHAT, OPS_USER, "/stop")
        await fake.wait_for(lambda: any(m["chat_id"] == OPS_CHAT for m in fake.sent), 10, "the confirmation")
        ask = next(m for m in fake.sent if m["chat_id"] == OPS_CHAT)
        assert ask["text"] == "Stop (positions stay open): bot main?"
        button = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        fake.user_presses(OPS_CHAT, OPS_USER, button, ask["message_id"])
        await fake.wait_for(lambda: any(e["text"].startswith("Sent to bot main") for e in fake.edits), 10, "sent")

        fake.user_says(VIEW_CHAT, VIEW_USER, "/stopclose")  # a viewer: refused at once, no button
        await fake.wait_for(lambda: any(m["chat_id"] == VIEW_CHAT for m in fake.sent), 10, "the refusal")

        fake.user_says(OPS_CHAT, OPS_USER, "/status")  # answered after the stranger's: the stranger got nothing
        await fake.wait_for(lambda: sum(m["chat_id"] == OPS_CHAT for m in fake.sent) == 2, 10, "the status")
    refusal = next(m for m in fake.sent if m["chat_id"] == VIEW_CHAT)
    assert refusal["text"] == "Not sent: you are not an operator of bot main." and not refusal["reply_markup"]
    assert not [m for m in fake.sent if m["chat_id"] == STRANGER_CHAT]
    audit = await sync_to_async(lambda: list(BotCommand.objects.order_by("id").values_list(
        "username", "command", "close_positions", "refused")))()
    assert audit == [("olga", "stop_bot", False, False), ("victor", "stop_bot", True, True)]
    sent = await CommandBus(redis, keys).receive("0", block_ms=None)
    assert [(r.command.action.command, r.command.issued_by) for r in sent if r.command] == [("stop_bot", "olga")]


async def test_a_trade_is_exactly_one_message_on_every_channel(
        redis: Redis, redis_url: str, redis_prefix: str, fake: FakeTelegram) -> None:
    keys = RedisKeys(prefix=redis_prefix, bot_id="omega")
    await announce(redis, keys, ttl_ms=60_000)
    publisher = EventPublisher(redis, keys)
    with webhook_receiver() as (url, received):
        notify = settings_for(fake, NOTIFY_WEBHOOK_URL=url, NOTIFY_URLS=url.replace("http://", "json://"))
        async with running(Notifier(redis_url=redis_url, keys=keys, notify=notify), redis, keys):
            await publisher.publish(trade(1, "omega"))
            await fake.wait_for(lambda: len(fake.sent) == 2, 10, "a message in each of the two chats")
            await asyncio.to_thread(received.wait_posts, 2)  # the webhook's and Apprise's
            await publisher.publish(trade(2, "omega"))  # a marker: anything doubled would have come before it
            await fake.wait_for(lambda: len(fake.sent) == 4, 10, "the marker in both chats")
            posts = await asyncio.to_thread(received.wait_posts, 4)
    assert sorted(m["chat_id"] for m in fake.sent) == [OPS_CHAT] * 2 + [VIEW_CHAT] * 2
    assert all(m["text"].startswith("omega: bought 0.001 BTCUSDT at 65,00") for m in fake.sent)
    webhook = [p["seq"] for p in posts if "seq" in p]
    apprise = [p["title"] for p in posts if "seq" not in p]
    assert webhook == [1, 2]
    assert [title[-9:] for title in apprise] == ["65,001.00", "65,002.00"]


async def test_only_the_requester_confirms_once_and_a_stranger_chats_buttons_get_nothing(
        redis: Redis, redis_url: str, keys: RedisKeys, fake: FakeTelegram) -> None:
    operator, _ = await sync_to_async(_users)()
    other = await sync_to_async(User.objects.create_user)("otto", password="x")
    await sync_to_async(make_operator)(other)
    await sync_to_async(TelegramLink.objects.create)(user=other, telegram_user_id=OPS_USER + 100)
    await announce(redis, keys, ttl_ms=60_000)
    async with running(Notifier(redis_url=redis_url, keys=keys, notify=settings_for(fake)), redis, keys):
        fake.user_says(OPS_CHAT, OPS_USER, "/stopclose main")
        await fake.wait_for(lambda: len(fake.sent) == 1, 10, "the confirmation")
        ask = fake.sent[0]
        data = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        assert len(data.encode()) <= 64
        fake.user_presses(OPS_CHAT, OPS_USER + 100, data, ask["message_id"])  # another operator
        await fake.wait_for(lambda: len(fake.callback_answers) == 1, 10, "the answer to the other operator")
        assert fake.callback_answers[0]["text"] == "Only who asked can confirm this"
        fake.user_presses(OPS_CHAT, OPS_USER, data, ask["message_id"])
        fake.user_presses(OPS_CHAT, OPS_USER, data, ask["message_id"])  # a double tap
        await fake.wait_for(lambda: len(fake.callback_answers) == 3, 10, "both presses answered")
        texts = sorted(a["text"] for a in fake.callback_answers[1:])
        assert texts == ["Already done", "Sent"]
        fake.user_says(STRANGER_CHAT, STRANGER, "/stop")  # not allowed: no question, no answer to a press
        fake.user_says(OPS_CHAT, OPS_USER, "/bots")
        await fake.wait_for(lambda: len(fake.sent) == 2, 10, "the /bots answer")
    assert [m["chat_id"] for m in fake.sent] == [OPS_CHAT, OPS_CHAT]
    sent = await CommandBus(redis, keys).receive("0", block_ms=None)
    commands = [(r.command.action.command, r.command.issued_by) for r in sent if r.command]
    assert commands == [("stop_bot", operator.username)]
