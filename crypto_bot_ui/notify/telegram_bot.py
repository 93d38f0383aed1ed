"""The Telegram bot's commands (python-telegram-bot, long polling), run by the notifier.

Only the chats in TELEGRAM_CHAT_IDS are answered; any other chat gets nothing at all. Reading
commands (/status, /profit, /positions, /trades, /bots) are for every allowed chat. /start, /stop
and /stopclose act for the Django user the Telegram account is linked to (TelegramLink), ask for
a confirmation with an inline button, and then go through the very command service the web page
uses (`send_bot_command`): the same permission check, rate limit and audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError
from telegram import (
    BotCommand as MenuCommand,
)
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot_api.backoff import Backoff
from bot_api.commands import BotAction, StartBot, StopBot
from bot_api.keys import RedisKeys
from crypto_bot_ui.core.bot_link import redis_client
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, bot_overview, current_snapshot, known_bots
from crypto_bot_ui.dashboard.services import send_bot_command
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify import telegram_texts as texts
from crypto_bot_ui.notify.channels import retry_seconds
from crypto_bot_ui.notify.models import TelegramLink
from crypto_bot_ui.trades.models import Trade

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 30
"""Seconds one getUpdates waits for an update (long polling)."""
MAX_REPLY_WAIT = 30.0
"""Longest pause before a second try of an answer Telegram throttled."""
CONFIRM_TTL = 120
"""Seconds a confirmation button stays good: an old button pressed by mistake does nothing."""
ACTIONS: dict[str, tuple[str, str]] = {
    "start": ("s", "Start"),
    "stop": ("t", "Stop (positions stay open)"),
    "stopclose": ("x", "Stop and close every position"),
}
"""Control command -> (its one-letter code in a button's data, what the confirmation says).
A button's data (at most 64 bytes) is `c:<code>:<bot>:<time>:<requester>`, times and ids in base 36."""
MENU = [("status", "state and P&L"), ("profit", "realized, unrealized, today"), ("positions", "open positions"),
        ("trades", "the last trades"), ("bots", "every bot"), ("start", "start a bot (operators)"),
        ("stop", "stop a bot (operators)"), ("stopclose", "stop and close positions (operators)"),
        ("help", "what I answer")]


def _action(code: str, ref: str) -> BotAction:
    """The command a confirmed button stands for; `ref` (the button's query id) comes back in the answer."""
    if code == "s":
        return StartBot(id=ref)
    return StopBot(id=ref, close_positions=code == "x")


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


class Handlers:
    """The answers; each reads what it needs afresh (the database, the bots' snapshots in Redis)."""

    def __init__(self, notify: NotifySettings, keys: RedisKeys) -> None:
        self.notify = notify
        self.keys = keys

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help."""
        await _reply(update, texts.HELP)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/status [bot]."""
        await self._about(update, context, lambda bot_id, status, online: texts.status_text(
            bot_id, status, online=online))

    async def profit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/profit [bot]."""
        await self._about(update, context, lambda bot_id, status, online: texts.profit_text(bot_id, status))

    async def positions(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/positions [bot]."""
        await self._about(update, context, lambda bot_id, status, online: texts.positions_text(bot_id, status))

    async def trades(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/trades [bot]."""
        bot_id = await self._bot(update, context)
        if bot_id is not None:
            await _reply(update, texts.trades_text(bot_id, await database_sync_to_async(_last_trades)(bot_id)))

    async def bots(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/bots."""
        try:
            overview = await database_sync_to_async(bot_overview)()
        except BotDataUnavailableError:
            await _reply(update, "The bots cannot be read right now (Redis does not answer). Try again soon.")
            return
        await _reply(update, texts.bots_text(overview))

    async def control(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, /stop, /stopclose [bot]: a confirmation button for a linked user."""
        message = update.effective_message
        if message is None or not message.text:
            return
        command = message.text.split()[0].lstrip("/").split("@")[0].lower()
        code, words = ACTIONS[command]
        bot_id = await self._bot(update, context)
        if bot_id is None:
            return
        user = await self._user(update)
        if user is None:
            await _reply(update, "This Telegram account is not linked to a dashboard user, so it cannot steer a "
                                 "bot. An admin links it in Admin > Telegram links.")
            return
        if not await database_sync_to_async(can_control)(user.pk, bot_id):
            # No button to press for nothing: refused now, by the command service (so it is audited).
            result = await send_bot_command(user=user, command=_action(code, f"tg-{message.message_id}"),
                                            address=None, bot_id=bot_id)
            await _reply(update, _refusal_text(result))
            return
        requester = update.effective_user.id if update.effective_user else 0
        data = f"c:{code}:{bot_id}:{_b36(int(time.time()))}:{_b36(requester)}"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(f"Yes, {words.split(' (')[0].lower()}",
                                                               callback_data=data),
                                          InlineKeyboardButton("Cancel", callback_data="cancel")]])
        await _reply(update, f"{words}: bot {bot_id}?", reply_markup=keyboard)

    async def confirmed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on a confirmation button: the command goes to the command service."""
        query = update.callback_query
        if query is None or not _allowed(self.notify, update):
            return  # a chat not allowed gets no answer, not even to a button
        if query.data == "cancel":
            await query.answer("Cancelled")
            await query.edit_message_text("Cancelled.")
            return
        try:
            _, code, bot_id, stamp, requester = (query.data or "").split(":")
            fresh = time.time() - int(stamp, 36) <= CONFIRM_TTL
            asked_by = int(requester, 36)
        except ValueError:
            await query.answer("Not a button of mine")
            return
        if query.from_user.id != asked_by:
            # In a group, only who asked may confirm: nobody confirms a /stopclose on another's behalf.
            await query.answer("Only who asked can confirm this")
            return
        if not fresh:
            await query.answer("Too late: send the command again")
            await query.edit_message_text("This confirmation expired: nothing was sent.")
            return
        user = await self._user(update)
        if user is None:
            await query.answer("Not linked to a dashboard user")
            return
        if not await self._first_press(query):
            await query.answer("Already done")
            return
        result = await send_bot_command(user=user, command=_action(code, f"tg-{query.id}"[:64]), address=None,
                                         bot_id=bot_id)
        if result is None:
            await query.answer("Sent")
            await query.edit_message_text(f"Sent to bot {bot_id} by {user.get_username()}.")
        else:
            await query.answer("Refused")
            await query.edit_message_text(_refusal_text(result))

    async def _first_press(self, query: Any) -> bool:
        """Whether this is the button's first confirmed press (a double tap sends one command)."""
        message = query.message
        if message is None:
            return False
        key = self.keys.telegram_confirm_key(message.chat.id, message.message_id)
        try:
            return bool(await redis_client().set(key, "1", nx=True, ex=CONFIRM_TTL * 2))
        except (RedisError, OSError):
            return True  # without Redis the command service refuses anyway (unavailable)

    async def _about(self, update: Update, context: ContextTypes.DEFAULT_TYPE, render: Any) -> None:
        bot_id = await self._bot(update, context)
        if bot_id is None:
            return
        try:
            status = await database_sync_to_async(current_snapshot)(bot_id)
            online = any(b.bot_id == bot_id and b.online for b in await database_sync_to_async(known_bots)())
        except BotDataUnavailableError as exc:
            await _reply(update, f"Bot {bot_id}: no status to show ({exc}).")
            return
        await _reply(update, render(bot_id, status.data, online))

    async def _bot(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """The bot the command names, or the only / default one; None (and a reply) if unknown."""
        try:
            known = [bot.bot_id for bot in await database_sync_to_async(known_bots)()]
        except BotDataUnavailableError:
            await _reply(update, "The bots cannot be read right now (Redis does not answer). Try again soon.")
            return None
        only = known[0] if len(known) == 1 else settings.BOT_ID
        bot_id = context.args[0] if context.args else only
        if bot_id not in known:
            await _reply(update, f"There is no bot {bot_id[:32]}. /bots lists them.")
            return None
        return bot_id

    async def _user(self, update: Update) -> Any:
        """The Django user this Telegram account is linked to (its private chat noted), or None."""
        sender = update.effective_user
        chat = update.effective_chat
        if sender is None:
            return None
        private = chat.id if chat is not None and chat.type == "private" else None
        return await database_sync_to_async(_linked_user)(sender.id, private)


def _refusal_text(result: Any) -> str:
    """Why the command service did not send a command, for people."""
    if result is None:
        return "Sent."
    return f"Not sent: {result.detail or (result.error or 'refused').replace('_', ' ')}."


def _allowed(notify: NotifySettings, update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and str(chat.id) in notify.telegram_chat_ids


def _linked_user(telegram_user_id: int, private_chat: int | None) -> Any:
    link = TelegramLink.objects.select_related("user").filter(telegram_user_id=telegram_user_id).first()
    if link is None or not link.user.is_active:
        return None
    if private_chat is not None and link.chat_id != private_chat:
        link.chat_id = private_chat  # where this user's own alerts go
        link.save(update_fields=["chat_id"])
    return link.user


def _last_trades(bot_id: str) -> list[tuple[str, str, Any, Any, Any, str]]:
    rows = Trade.objects.filter(bot_id=bot_id).order_by("-executed_at", "-id")[:10]
    return [(t.executed_at.strftime("%m-%d %H:%M:%S"), t.side, t.qty, t.price, t.realized_pnl, t.symbol) for t in rows]


async def _reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer in the chat; once more after the pause Telegram asks for if the chat is over its limit
    (the notifications share the chat's pace)."""
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(text[:4096], **kwargs)
    except RetryAfter as exc:
        await asyncio.sleep(min(retry_seconds(exc), MAX_REPLY_WAIT))
        await message.reply_text(text[:4096], **kwargs)


def build_application(notify: NotifySettings, keys: RedisKeys) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot Application with every handler, on the configured Bot API server."""
    base = notify.telegram_api_url.rstrip("/")
    app = (Application.builder().token(notify.telegram_bot_token).base_url(f"{base}/bot")
           .base_file_url(f"{base}/file/bot").build())
    handlers = Handlers(notify, keys)
    allowed = filters.Chat(chat_id=[int(chat) for chat in notify.telegram_chat_ids])
    for name, callback in (("help", handlers.help), ("status", handlers.status), ("profit", handlers.profit),
                           ("positions", handlers.positions), ("trades", handlers.trades), ("bots", handlers.bots)):
        app.add_handler(CommandHandler(name, callback, filters=allowed))
    app.add_handler(CommandHandler(list(ACTIONS), handlers.control, filters=allowed))
    app.add_handler(CallbackQueryHandler(handlers.confirmed))
    app.add_error_handler(_on_error)
    return app


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Never the exception's text as is: InvalidToken's quotes the token.
    logger.warning("a Telegram command failed: %s", type(context.error).__name__)


async def _set_up_menu(app: Application, notify: NotifySettings) -> None:  # type: ignore[type-arg]
    """The command list, and the Dashboard button that opens the page as a Web App (https only:
    Telegram refuses other Web App addresses)."""
    await app.bot.set_my_commands([MenuCommand(name, what) for name, what in MENU])
    url = notify.public_url.rstrip("/")
    if url.startswith("https://"):
        await app.bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
            text="Dashboard", web_app=WebAppInfo(url=f"{url}/telegram/app/")))
    else:
        logger.info("no Dashboard button in Telegram: PUBLIC_URL is not https:// (Telegram opens only those)")


async def run_telegram(notify: NotifySettings, keys: RedisKeys) -> None:
    """Answer commands until cancelled; a Bot API that is away is tried again with backoff."""
    backoff = Backoff(initial=1.0, maximum=60.0)
    while True:
        app = build_application(notify, keys)
        try:
            async with app:  # initialize (getMe) ... shutdown
                updater = app.updater
                if updater is None:  # the builder always makes one; said for the type checker
                    raise RuntimeError("python-telegram-bot built no updater")
                await app.start()
                await updater.start_polling(timeout=POLL_TIMEOUT, allowed_updates=["message", "callback_query"])
                with contextlib.suppress(TelegramError):
                    await _set_up_menu(app, notify)
                logger.info("Telegram bot @%s answers chats %s", app.bot.username,
                            ", ".join(notify.telegram_chat_ids) or "(none: TELEGRAM_CHAT_IDS is empty)")
                backoff.reset()
                try:
                    await asyncio.Event().wait()
                finally:
                    if updater.running:
                        await updater.stop()
                    await app.stop()
        except InvalidToken:
            logger.error("TELEGRAM_BOT_TOKEN was refused by the Bot API: Telegram commands are off until it is fixed")
            await asyncio.sleep(backoff.next_delay() * 10)
        except (TelegramError, OSError) as exc:
            logger.warning("Telegram commands wait for the Bot API: %s", type(exc).__name__)
            await asyncio.sleep(backoff.next_delay())
