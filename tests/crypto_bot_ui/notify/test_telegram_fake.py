"""The fake Telegram Bot API driven by python-telegram-bot itself: its JSON must be what PTB parses."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.telegram_fake import FakeTelegram, bot_command_entities, parse_html

CHAT = 4242  # a private chat: its id is the user's
RETRY_AFTER_INT = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
"""PTB 22 warns, making RetryAfter, that retry_after will become a timedelta; both are handled here."""


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake served from this test's loop."""
    async with FakeTelegram() as server:
        yield server


def bot_for(fake: FakeTelegram, token: str | None = None) -> Bot:
    """A PTB Bot talking to the fake."""
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def app_for(fake: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB Application talking to the fake."""
    return ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url).build()


def seconds(value: int | float | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me_and_send_message(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        me = await bot.get_me()
        assert (me.id, me.is_bot, me.username) == (fake.bot_id, True, "fake_cryptobot")
        message = await bot.send_message(CHAT, "<b>BTCUSDT</b> bought 0.01 &amp; 🚀 <i>done</i>", parse_mode="HTML")
        second = await bot.send_message(CHAT, "plain")
        other = await bot.send_message(CHAT + 1, "other chat")

    assert message.text == "BTCUSDT bought 0.01 & 🚀 done"
    # Offsets in UTF-16 units: the rocket counts 2.
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 7), ("italic", 25, 4)]
    assert message.from_user is not None and message.from_user.id == fake.bot_id
    assert (message.chat.id, message.chat.type) == (CHAT, "private")
    assert (message.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert [(m["chat_id"], m["text"], m["parse_mode"]) for m in fake.sent] == [
        (CHAT, "<b>BTCUSDT</b> bought 0.01 &amp; 🚀 <i>done</i>", "HTML"), (CHAT, "plain", None),
        (CHAT + 1, "other chat", None)]
    assert fake.sent[0]["plain"] == message.text
    assert fake.sent[0]["at"] <= fake.sent[1]["at"]


async def test_html_is_read_as_telegram_reads_it(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag \"\" at byte offset 6"):
            await bot.send_message(CHAT, "price < 5", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)unsupported start tag \"div\""):
            await bot.send_message(CHAT, "<div>x</div>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding to start tag \"b\""):
            await bot.send_message(CHAT, "<b>open", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        # A bare "&" or ">" is text for Telegram; "<" never is.
        ok = await bot.send_message(CHAT, "a & b > c &lt; d", parse_mode="HTML")
    assert ok.text == "a & b > c < d"
    assert len(fake.sent) == 1


def test_parse_html_entities() -> None:
    plain, entities = parse_html('<a href="https://x.test/?a=1&amp;b=2">link</a> '
                                 '<pre><code class="language-python">x = 1</code></pre> '
                                 '<blockquote expandable>q</blockquote> <span class="tg-spoiler">s</span>')
    assert plain == "link x = 1 q s"
    assert entities == [
        {"offset": 0, "length": 4, "type": "text_link", "url": "https://x.test/?a=1&b=2"},
        {"offset": 5, "length": 5, "type": "pre", "language": "python"},
        {"offset": 11, "length": 1, "type": "expandable_blockquote"},
        {"offset": 13, "length": 1, "type": "spoiler"},
    ]


@pytest.mark.parametrize(("text", "entities"), [
    ("/status", [(0, 7)]),
    ("/status@fake_cryptobot now", [(0, 22)]),
    ("please /help", [(7, 5)]),
    ("🚀 /go", [(3, 3)]),
    ("a/b and http://x/y", []),
])
def test_bot_command_entities(text: str, entities: list[tuple[int, int]]) -> None:
    assert [(e["offset"], e["length"]) for e in bot_command_entities(text)] == entities


@RETRY_AFTER_INT
async def test_per_chat_rate_limit_is_a_429_with_retry_after() -> None:
    async with FakeTelegram(per_chat_interval=60) as fake, bot_for(fake) as bot:
        await bot.send_message(CHAT, "first")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "too soon")
        await bot.send_message(CHAT + 1, "another chat is not limited")
        assert seconds(caught.value.retry_after) == 60
    assert fake.throttled == 1
    assert [m["text"] for m in fake.sent] == ["first", "another chat is not limited"]


@RETRY_AFTER_INT
async def test_fail_next(fake: FakeTelegram) -> None:
    fake.fail_next(2, status=502)
    async with bot_for(fake) as bot:
        for _ in range(2):
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(CHAT, "lost")
        await bot.send_message(CHAT, "delivered")
        fake.fail_next(1, status=429, retry_after=3)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "flood")
        fake.block(CHAT + 1)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT + 1, "blocked")
    assert seconds(caught.value.retry_after) == 3
    assert fake.failed == 3
    assert [m["text"] for m in fake.sent] == ["delivered"]


async def test_token_and_method_errors_are_telegrams(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/bot999:wrong-token/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{fake.base_url}{fake.token}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # Method names are case-insensitive; JSON bodies are read as well as forms.
        async with http.post(f"{fake.base_url}{fake.token}/SENDMESSAGE",
                             json={"chat_id": CHAT, "text": "json body"}) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["text"] == "json body"
    with pytest.raises(InvalidToken):
        async with bot_for(fake, token="999:wrong-token"):
            pass


async def test_application_start_up_polling_and_command(fake: FakeTelegram) -> None:
    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"running ({context.args})")

    app = app_for(fake)
    app.add_handler(CommandHandler("status", status))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10, poll_interval=0)
        update_id = fake.user_says(CHAT, CHAT, "/status now", username="alice")
        sent = await fake.wait_sent(1)
        await app.updater.stop()
        await app.stop()

    assert [(m["chat_id"], m["text"]) for m in sent] == [(CHAT, "running (['now'])")]
    methods = [name for name, _ in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert set(methods) == {"getMe", "deleteWebhook", "getUpdates", "sendMessage"}
    # On stop PTB confirms what it fetched with one last, short getUpdates; nothing stays queued.
    last = fake.calls_of("getUpdates")[-1]
    assert (int(last["offset"]), int(last["timeout"])) == (update_id + 1, 0)
    assert fake.pending_updates == []


async def test_buttons_callback_answer_and_edit(fake: FakeTelegram) -> None:
    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"got {query.data}")
        await query.edit_message_text(f"Closing {query.data}")

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Close BTC", callback_data="close:BTCUSDT")]])
    app = app_for(fake)
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        message = await app.bot.send_message(CHAT, "Position BTCUSDT", reply_markup=keyboard)
        assert message.reply_markup == keyboard
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await app.bot.send_message(CHAT, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("long", callback_data="x" * 65)]]))
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10, poll_interval=0)
        update_id = fake.user_presses(CHAT, CHAT, "close:BTCUSDT", message.message_id)
        await fake.wait_for(lambda: len(fake.edits) == 1, what="the edit")
        await app.updater.stop()
        await app.stop()
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await app.bot.edit_message_text("Closing close:BTCUSDT", chat_id=CHAT, message_id=message.message_id)

    assert [(a["update_id"], a["text"]) for a in fake.callback_answers] == [(update_id, "got close:BTCUSDT")]
    stored = fake.messages[(CHAT, message.message_id)]
    assert stored["text"] == "Closing close:BTCUSDT" and "edit_date" in stored
    assert "reply_markup" not in stored  # an edit without reply_markup removes the keyboard, as on Telegram
    with pytest.raises(LookupError):
        fake.user_presses(CHAT, CHAT, "x", message_id=999)


async def test_answer_callback_query_once(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        message = await bot.send_message(CHAT, "menu", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("a", callback_data="a")]]))
        fake.user_presses(CHAT, CHAT, "a", message.message_id)
        updates = await bot.get_updates()
        assert updates[0].callback_query is not None
        query_id = updates[0].callback_query.id
        assert await bot.answer_callback_query(query_id) is True
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query_id)


async def test_long_poll_returns_on_an_update_and_offset_confirms(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for(lambda: fake.polling == 1, what="a waiting getUpdates")
        first = fake.user_says(CHAT, CHAT, "hello")
        updates = await poll
        assert time.monotonic() - started < 10  # woken, not timed out
        assert [u.update_id for u in updates] == [first]
        assert updates[0].message is not None and updates[0].message.text == "hello"
        second = fake.user_says(CHAT, CHAT, "again")
        assert [u.update_id for u in await bot.get_updates()] == [first, second]  # not confirmed yet
        assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
        assert await bot.get_updates(offset=second + 1) == ()
        assert fake.pending_updates == []


async def test_newer_get_updates_ends_the_waiting_one_with_409(fake: FakeTelegram) -> None:
    async with bot_for(fake) as first, bot_for(fake) as second:  # two bot instances, as in the real mistake
        waiting = asyncio.create_task(first.get_updates(timeout=30))
        await fake.wait_for(lambda: fake.polling == 1, what="a waiting getUpdates")
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting


async def test_close_answers_a_waiting_long_poll() -> None:
    fake = FakeTelegram()
    await fake.start()
    try:
        async with bot_for(fake) as bot:
            started = time.monotonic()
            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await fake.wait_for(lambda: fake.polling == 1, what="a waiting getUpdates")
            await fake.close()
            assert await poll == ()
            assert time.monotonic() - started < 10
    finally:
        await fake.close()


async def test_webhook_and_drop_pending_updates(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        fake.user_says(CHAT, CHAT, "/start")
        assert (await bot.get_webhook_info()).pending_update_count == 1
        await bot.set_webhook("https://example.test/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook(drop_pending_updates=True) is True
        assert await bot.get_updates() == ()
        assert (await bot.get_webhook_info()).url == ""


async def test_menu_button_and_commands(fake: FakeTelegram) -> None:
    button = MenuButtonWebApp("Dashboard", WebAppInfo("https://dashboard.example.test/tg/"))
    async with bot_for(fake) as bot:
        assert await bot.set_chat_menu_button(chat_id=CHAT, menu_button=button) is True
        assert await bot.get_chat_menu_button(chat_id=CHAT) == button
        assert (await bot.get_chat_menu_button(chat_id=CHAT + 1)).type == "commands"
        with pytest.raises(BadRequest, match=r"(?i)only HTTPS links are allowed"):
            await bot.set_chat_menu_button(menu_button=MenuButtonWebApp("x", WebAppInfo("http://127.0.0.1:8000/")))
        await bot.set_my_commands([BotCommand("status", "Bot status"), BotCommand("stop", "Stop the bot")])
        assert [c.command for c in await bot.get_my_commands()] == ["status", "stop"]
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Status", "upper case is refused")])
        await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
    assert fake.menu_buttons == {CHAT: {"type": "web_app", "text": "Dashboard",
                                        "web_app": {"url": "https://dashboard.example.test/tg/"}}}


def test_in_a_thread_for_synchronous_tests() -> None:
    with FakeTelegram() as fake:
        async def notify() -> None:
            async with bot_for(fake) as bot:
                await bot.send_message(CHAT, "from another thread")

        sender = threading.Thread(target=asyncio.run, args=(notify(),))
        sender.start()
        sent = fake.wait_sent_sync(1, timeout=10)
        sender.join(10)
        assert [m["text"] for m in sent] == ["from another thread"]
        with pytest.raises(TimeoutError, match="2 sent messages"):
            fake.wait_sent_sync(2, timeout=0.05)


async def test_in_a_thread_awaited_from_another_loop() -> None:
    with FakeTelegram() as fake:
        async with bot_for(fake) as bot:
            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await fake.wait_for(lambda: fake.polling == 1, what="a waiting getUpdates")
            update_id = fake.user_says(CHAT, CHAT, "/status")  # from this thread, served by the fake's
            assert [u.update_id for u in await poll] == [update_id]
            await bot.send_message(CHAT, "ok")
            assert [m["text"] for m in await fake.wait_sent(1)] == ["ok"]
