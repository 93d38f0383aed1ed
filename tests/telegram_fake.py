"""A local fake of the Telegram Bot API (https://core.telegram.org/bots/api): real JSON, real errors.

Serves `/bot<token>/<method>` on 127.0.0.1 (GET or POST; query string, form, multipart or JSON
parameters, as python-telegram-bot and others send them) with Telegram's envelope
`{"ok": true, "result": ...}` / `{"ok": false, "error_code": ..., "description": ...}`. Point
python-telegram-bot at it with

    Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)

(PTB appends the token to base_url). A Telegram API URL setting holds `fake.api_url`
(`http://127.0.0.1:PORT`, like `https://api.telegram.org`); its user builds `f"{api_url}/bot"`.

Run it in the test's loop (`async with FakeTelegram() as fake:`) or in a thread of its own with its
own loop (`with FakeTelegram() as fake:`, or `start_in_thread()` / `stop()`) for synchronous
tests and for a notifier running in another process. Every method of it may be called from any
thread. Waiting is on a condition, never on a sleep: `await fake.wait_sent(n)` /
`fake.wait_sent_sync(n)`, or `wait_for(predicate)` / `wait_for_sync(predicate)` for anything else.

Served: getMe; getUpdates (long polling; offset confirms, allowed_updates filters and is
remembered; a newer getUpdates ends a waiting one with 409 as Telegram does, and getUpdates
while a webhook is set is a 409); setWebhook / deleteWebhook (drop_pending_updates) /
getWebhookInfo; sendMessage (with an optional per-chat rate limit answering 429 with
retry_after); editMessageText / editMessageReplyMarkup ("message is not modified" included;
an edit without reply_markup removes the inline keyboard, as on Telegram); deleteMessage;
sendChatAction; answerCallbackQuery; setChatMenuButton / getChatMenuButton; setMyCommands /
getMyCommands / deleteMyCommands. Any other method is 404, a wrong token 401.

What Telegram checks and the fake checks too: parse_mode HTML as Telegram's parser reads it
(only its tags; an unescaped `<` is an error, a bare `&` or `>` is text; the returned message
has the plain text and the entities, offsets in UTF-16 units), empty or over-long text,
inline keyboards (callback_data 1-64 bytes, one action per button, Web App URLs HTTPS only),
command names, callback query ids answered at most once. Error descriptions follow Telegram's
where known; a few are close paraphrases (the status is what clients act on). Not modelled:
MarkdownV2 (sent text is kept as is), entities Telegram finds by itself in bot messages
(links, mentions), media, groups beyond a chat object, the global 30 messages/s limit.

Users are simulated with `user_says` (a message update, with the `bot_command` entities
Telegram adds) and `user_presses` (a callback_query update for a message the bot sent).
`web_app_init_data` builds what a Telegram client hands a Mini App, signed with this bot's token.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

DEFAULT_TOKEN = "123456789:AAF4keT0kenF0rTestsOnly-notARealBot00"
"""A token in Telegram's shape `<bot id>:<secret>`; the bot id (123456789) is getMe's `id`."""

DEFAULT_USERNAME = "fake_cryptobot"
MAX_TEXT = 4096
"""Longest message text after entity parsing, in UTF-16 code units (Telegram's 4096 characters)."""

DEFAULT_ALLOWED = frozenset({"message", "edited_message", "channel_post", "edited_channel_post",
                             "business_connection", "business_message", "edited_business_message",
                             "deleted_business_messages", "inline_query", "chosen_inline_result",
                             "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
                             "poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost",
                             "removed_chat_boost"})
"""Update types delivered when allowed_updates was never set or set to []: all but chat_member,
message_reaction and message_reaction_count (Bot API, getUpdates)."""

CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer of the Bot API: HTTP `status`, `description`, optional `parameters`."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


@dataclass
class Failure:
    """Answer the next `times` calls of a method with this error instead of serving them."""

    times: int
    error: ApiError


# -- initData (Mini App login) --------------------------------------------------------------------
def sign_init_data(fields: dict[str, str], *, bot_token: str) -> str:
    """initData as a Telegram client hands it to a Mini App: `fields` percent-encoded, then `hash`.

    Written here from Telegram's docs, not with the production helpers, so that a mistake there is
    not repeated here and hidden. Every field is hashed, `signature` included (see
    crypto_bot_ui/notify/telegram_login.py for why)."""
    if "hash" in fields:
        raise ValueError("fields must not contain hash")
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    # quote, not quote_plus: clients write a space as %20, and "/" as %2F (quote_via gets safe="").
    return urlencode([*fields.items(), ("hash", digest)], quote_via=quote)


def user_json(user: dict[str, Any]) -> str:
    """A user object serialized as Telegram's clients do: compact, UTF-8, "/" escaped as "\\/"."""
    return json.dumps(user, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


# -- Telegram's HTML ------------------------------------------------------------------------------
TAG_ENTITIES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
                "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
                "span": "spoiler", "a": "text_link", "tg-emoji": "custom_emoji", "code": "code", "pre": "pre",
                "blockquote": "blockquote"}
"""The tags Telegram's HTML parse mode accepts (Bot API, "HTML style") and the entity each makes."""

_CHAR_REF = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,10})|(lt|gt|amp|quot)(?![A-Za-z]));?")
"""Character references as tdlib decodes them: numeric ones and four names, ";" optional."""
_ATTRIBUTE = re.compile(r"""([^\s=>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([\w.-]+)))?""")
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def _char_ref(match: re.Match[str]) -> str | None:
    hex_code, dec_code, name = match.groups()
    if name is not None:
        return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name]
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else None


def _unescape(value: str) -> str:
    return _CHAR_REF.sub(lambda m: _char_ref(m) or m.group(0), value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and entities Telegram makes of `text` in HTML parse mode, or its 400 error.

    Follows tdlib's parser: `<` always starts a tag (so `a < b` is an error), while `&` that starts
    no known character reference and a bare `>` are plain text."""
    out: list[str] = []
    units = 0
    open_tags: list[tuple[str, int, dict[str, str]]] = []  # tag, UTF-16 start, attributes
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)

    def fail(what: str, at: int, detail: str = "") -> ApiError:
        offset = len(text[:at].encode())
        return ApiError(400, f"Bad Request: can't parse entities: {what} at byte offset {offset}{detail}")

    while i < n:
        c = text[i]
        if c == "&" and (m := _CHAR_REF.match(text, i)) and (char := _char_ref(m)) is not None:
            out.append(char)
            units += utf16_len(char)
            i = m.end()
            continue
        if c != "<":
            out.append(c)
            units += utf16_len(c)
            i += 1
            continue
        begin = i
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise fail("Unclosed end tag", begin)
            name = text[i + 2:end].strip().lower()
            if not open_tags:
                raise fail("Unexpected end tag", begin)
            open_tag, start, open_attrs = open_tags.pop()
            if name and name != open_tag:
                raise fail("Unmatched end tag", begin, f', expected "</{open_tag}>", found "</{name}>"')
            entity = _entity(open_tag, open_attrs, start, units - start, "".join(out), open_tags)
            if entity is not None and entity["length"] > 0:
                entities.append(entity)
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise fail("Unclosed start tag", begin)
        tag = text[i + 1:j].lower()
        if tag not in TAG_ENTITIES:
            raise fail(f'Unsupported start tag "{tag}"', begin)
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise fail("Unclosed start tag", begin)
            if text[j] == ">":
                break
            m = _ATTRIBUTE.match(text, j)
            if m is None:
                raise fail(f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin)
            value = next((v for v in m.groups()[1:] if v is not None), "")
            attrs[m.group(1).lower()] = _unescape(value)
            j = m.end()
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise fail('Tag "tg-emoji" must have a numeric attribute "emoji-id"', begin)
        open_tags.append((tag, units, attrs))
        i = j + 1
    if open_tags:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                            f'"{open_tags[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity(tag: str, attrs: dict[str, str], offset: int, length: int, plain: str,
            parents: list[tuple[str, int, dict[str, str]]]) -> dict[str, Any] | None:
    kind = TAG_ENTITIES[tag]
    entity: dict[str, Any] = {"offset": offset, "length": length, "type": kind}
    if kind == "text_link":
        # An <a> without href links its own text (tdlib).
        inner = plain.encode("utf-16-le")[offset * 2:].decode("utf-16-le")
        entity["url"] = attrs.get("href") or inner
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and parents and parents[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
        # <pre><code class="language-x"> is one pre entity with a language, not pre + code.
        parents[-1][2]["language"] = attrs["class"].removeprefix("language-")
        return None
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    return entity


def _strip(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims whitespace around a message's text; entities move and shrink with it."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    lead = utf16_len(plain[:len(plain) - len(plain.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start, end = max(entity["offset"] - lead, 0), min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities Telegram attaches to a user's message (PTB's CommandHandler needs them)."""
    return [{"offset": utf16_len(text[:m.start()]), "length": utf16_len(m.group(0)), "type": "bot_command"}
            for m in _BOT_COMMAND.finditer(text)]


# -- parameters -----------------------------------------------------------------------------------
async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and the body (JSON, form or multipart), as Telegram reads them."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON request body must be an object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _json(params: dict[str, Any], name: str) -> Any:
    """A JSON-typed parameter: form bodies carry it serialized, JSON bodies as a value."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None  # "@channel" names are not modelled


def _message_id(params: dict[str, Any]) -> int:
    if params.get("inline_message_id"):
        raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")  # inline messages are not modelled
    message_id = _int(params, "message_id")
    if message_id is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    return message_id


def _format(params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    """(text as sent, plain text, entities) of a text parameter and its parse_mode."""
    text = _str(params, "text")
    if text is None:
        raise ApiError(400, "Bad Request: message text is empty")
    mode = (_str(params, "parse_mode") or "").lower()
    if mode == "html":
        plain, entities = parse_html(text)
    elif mode in ("", "markdown", "markdownv2"):
        plain, entities = text, []  # Markdown is not parsed here: the text is kept as sent
    else:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {params['parse_mode']!r}")
    plain, entities = _strip(plain, entities)
    if not plain:
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(plain) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return text, plain, entities


_BUTTON_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                   "callback_game", "pay")


def _reply_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The reply_markup parameter, with an inline keyboard checked as Telegram checks it."""
    markup = _json(params, "reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards, ForceReply, ReplyKeyboardRemove: kept as sent
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard: field \"inline_keyboard\" must be an Array "
                            "of Array")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if len(actions) != 1:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in "
                                "the inline keyboard" if not actions else
                                "Bad Request: can't parse inline keyboard button: exactly one action field is allowed")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button and not re.match(r"(https?|tg)://", str(button["url"])):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        if "web_app" in button:
            _check_web_app_url(button["web_app"], "inline keyboard button")
    return markup


def _check_web_app_url(web_app: Any, where: str) -> None:
    url = web_app.get("url") if isinstance(web_app, dict) else None
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ApiError(400, f"Bad Request: {where} Web App URL {url!r} is invalid: Only HTTPS links are allowed")


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description is not None:
        body["description"] = description
    return web.json_response(body)


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class FakeTelegram:
    """The fake Bot API server and its state; see the module docstring. Lists are in call order."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = DEFAULT_USERNAME,
                 first_name: str = "Fake Crypto Bot", per_chat_interval: float | None = None) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 1
        self.username = username
        self.first_name = first_name
        self.per_chat_interval = per_chat_interval
        """Seconds between two messages to one chat; one sooner is answered 429 (and not recorded)."""

        self.sent: list[dict[str, Any]] = []
        """Accepted sendMessage calls: chat_id, message_id, text (as sent), plain, entities, parse_mode,
        reply_markup, link_preview_options, disable_web_page_preview, at (time.monotonic())."""
        self.edits: list[dict[str, Any]] = []
        """Accepted edits: method, chat_id, message_id, text, plain, parse_mode, reply_markup, at."""
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[dict[str, Any]] = []
        """callback_query_id, update_id (of the press), text, show_alert, url, at."""
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        """setChatMenuButton's menu_button by chat_id (None: the default for all chats)."""
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """setMyCommands by (scope as canonical JSON, language_code)."""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """Every call with a right token and a known method: (method, parameters as received)."""
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        """Every message of every chat, (chat_id, message_id) -> Message, as edited since."""
        self.blocked: set[int] = set()
        """Chats whose user blocked the bot: sending there is 403."""
        self.throttled = 0
        """sendMessage calls answered 429 by the per-chat limit."""
        self.failed = 0
        """Calls answered with an error by fail_next."""
        self.polling = 0
        """getUpdates requests waiting right now."""
        self.conflicts = 0
        """getUpdates requests ended with 409 by a newer one (two pollers of one token)."""
        self.webhook_url = ""

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_217_000_000_000_000_001)
        self._last_message_id: dict[int, int] = {}
        self._last_sent: dict[int, float] = {}
        self._queries: dict[str, int] = {}
        self._failures: dict[str, Failure] = {}
        self._allowed: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._users: dict[int, dict[str, Any]] = {}
        self._closing = False
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, tuple[str, Handler]] = {name.lower(): (name, handler) for name, handler in {
            "getMe": self._get_me, "getUpdates": self._get_updates, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message, "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup, "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action, "answerCallbackQuery": self._answer_callback_query,
            "setChatMenuButton": self._set_chat_menu_button, "getChatMenuButton": self._get_chat_menu_button,
            "setMyCommands": self._set_my_commands, "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }.items()}

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, once started."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What a Telegram API URL setting holds (Telegram's is https://api.telegram.org); add "/bot" for PTB."""
        return self.url

    @property
    def base_url(self) -> str:
        """PTB's Bot(base_url=...): requests go to {base_url}{token}/{method}."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's Bot(base_file_url=...); files are not served (404)."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a User object (getMe's result)."""
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    # -- life cycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on a free loopback port in the running loop."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already started")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown_timeout: close() wakes waiting long polls, nothing else should linger.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        self._port = sock.getsockname()[1]
        self._runner = runner
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        """Answer waiting getUpdates with no updates, then stop listening."""
        with self._lock:
            self._closing = True
            self._changed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def start_in_thread(self, timeout: float = 10) -> FakeTelegram:
        """Serve from a daemon thread running its own event loop; returns once listening."""
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except Exception as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
                errors.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError("FakeTelegram did not start")
        if errors:
            raise errors[0]
        return self

    def stop(self, timeout: float = 10) -> None:
        """Stop a fake started by start_in_thread (waiting getUpdates are answered first)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start_in_thread()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 502, *, method: str = "sendMessage", retry_after: int | None = None,
                  description: str | None = None) -> None:
        """Answer the next `n` calls of `method` with `status` (429 carries retry_after, default 1)."""
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = retry_after or 1
            error = ApiError(status, description or f"Too Many Requests: retry after {retry_after}",
                             {"retry_after": retry_after})
        else:
            error = ApiError(status, description or _phrase(status))
        with self._lock:
            self._failures[method.lower()] = Failure(n, error)

    def block(self, chat_id: int) -> None:
        """The user of `chat_id` blocks the bot: sendMessage there answers 403."""
        with self._lock:
            self.blocked.add(chat_id)

    def user_says(self, chat_id: int, user_id: int, text: str, *, username: str | None = "trader",
                  first_name: str = "Trader", last_name: str | None = None) -> int:
        """Queue a `message` update from a user (bot_command entities included); returns its update_id."""
        with self._lock:
            user = self._remember_user(user_id, username, first_name, last_name)
            message: dict[str, Any] = {"message_id": self._next_message_id(chat_id), "from": user,
                                       "chat": self._chat(chat_id), "date": int(time.time()), "text": text}
            if entities := bot_command_entities(text):
                message["entities"] = entities
            self.messages[(chat_id, message["message_id"])] = message
            return self._queue({"message": copy.deepcopy(message)})

    def user_presses(self, chat_id: int, user_id: int, data: str, message_id: int, *,
                     username: str | None = "trader", first_name: str = "Trader") -> int:
        """Queue a `callback_query` update: a user pressed a button of the bot's message `message_id`.

        `data` is not checked against the message's keyboard: a modified client can send any data."""
        with self._lock:
            message = self.messages.get((chat_id, message_id))
            if message is None or message["from"]["id"] != self.bot_id:
                raise LookupError(f"the bot sent no message {message_id} in chat {chat_id}")
            user = self._remember_user(user_id, username, first_name, None)
            query_id = str(next(self._query_ids))
            update_id = self._queue({"callback_query": {
                "id": query_id, "from": user, "message": copy.deepcopy(message),
                "chat_instance": str(abs(chat_id * 7_919 + self.bot_id) % 10**19), "data": data}})
            self._queries[query_id] = update_id
            return update_id

    def web_app_init_data(self, user_id: int, *, username: str | None = "trader", first_name: str = "Trader",
                          auth_date: int | None = None, **fields: str) -> str:
        """The initData a Telegram client hands this bot's Mini App opened by `user_id`, signed with the token.

        Shaped like a real one: user JSON with "\\/" escapes, chat_instance, chat_type and a `signature`
        (random here: Telegram signs it with its own Ed25519 key); `fields` add or replace fields."""
        user: dict[str, Any] = {"id": user_id, "first_name": first_name, "last_name": "",
                                "language_code": "en", "allows_write_to_pm": True,
                                "photo_url": f"https://t.me/i/userpic/320/{user_id}.svg"}
        if username is not None:
            user["username"] = username
        data = {"user": user_json(user), "chat_instance": str(-(user_id * 7_919 % 10**18)), "chat_type": "sender",
                "auth_date": str(int(time.time()) if auth_date is None else auth_date),
                "signature": secrets.token_urlsafe(64)}
        return sign_init_data({**data, **fields}, bot_token=self.token)

    def my_commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The commands set for `scope` (default scope if None) and language."""
        with self._lock:
            return list(self.commands.get((_scope_key(scope), language_code), []))

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of `method`, in order."""
        with self._lock:
            return [params for name, params in self.calls if name.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by an offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    # -- waiting -----------------------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5, what: str = "a condition") -> None:
        """Return once `predicate()` (evaluated under the fake's lock) holds; TimeoutError after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                if predicate():
                    return
                future: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, future))
            try:
                await asyncio.wait_for(future, max(deadline - loop.time(), 0))
            except TimeoutError:
                with self._lock:
                    with contextlib.suppress(ValueError):
                        self._async_waiters.remove((loop, future))
                    if predicate():
                        return
                    raise TimeoutError(f"waited {timeout} s for {what}; {self._summary()}") from None

    def wait_for_sync(self, predicate: Callable[[], bool], timeout: float = 5, what: str = "a condition") -> None:
        """wait_for for threads without a loop (Django sync tests)."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"waited {timeout} s for {what}; {self._summary()}")

    async def wait_sent(self, n: int, timeout: float = 5) -> list[dict[str, Any]]:
        """Wait until at least `n` messages were accepted; returns `sent`."""
        await self.wait_for(lambda: len(self.sent) >= n, timeout, f"{n} sent messages")
        with self._lock:
            return list(self.sent)

    def wait_sent_sync(self, n: int, timeout: float = 5) -> list[dict[str, Any]]:
        """wait_sent for threads without a loop."""
        self.wait_for_sync(lambda: len(self.sent) >= n, timeout, f"{n} sent messages")
        with self._lock:
            return list(self.sent)

    def _summary(self) -> str:
        return (f"sent {[(m['chat_id'], m['text']) for m in self.sent]}, "
                f"calls {[name for name, _ in self.calls][-20:]}, throttled {self.throttled}, failed {self.failed}")

    def _changed(self) -> None:
        """Wake every waiter (call with the lock held)."""
        self._cond.notify_all()
        waiters, self._async_waiters = self._async_waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, future)

    # -- state helpers (lock held) -----------------------------------------------------------------
    def _queue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._changed()
        return update_id

    def _next_message_id(self, chat_id: int) -> int:
        # One sequence per chat for the user's and the bot's messages, as in a private chat.
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _remember_user(self, user_id: int, username: str | None, first_name: str,
                       last_name: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        user["language_code"] = "en"
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "title": "Fake group", "type": kind}
        user = self._users.get(chat_id, {"first_name": "Fake user"})
        chat = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    # -- HTTP --------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", request.path)
        if match is None:
            return ApiError(404, "Not Found").response()
        token, method = match.groups()
        if token != self.token:
            # Telegram: 401 for a well-formed token it does not know, 404 for a malformed one.
            well_formed = re.fullmatch(r"\d+:[\w-]+", token) is not None
            return (ApiError(401, "Unauthorized") if well_formed else ApiError(404, "Not Found")).response()
        known = self._methods.get(method.lower())  # Bot API method names are case-insensitive
        if known is None:
            return ApiError(404, "Not Found").response()
        name, handler = known
        try:
            params = await _read_params(request)
            with self._lock:
                self.calls.append((name, params))
                failure = self._failures.get(name.lower())
                if failure is not None and failure.times > 0:
                    failure.times -= 1
                    self.failed += 1
                    self._changed()
                    raise failure.error
                self._changed()
            result = await handler(params)
        except ApiError as exc:
            return exc.response()
        if isinstance(result, web.Response):
            return result
        return _ok(result)

    # -- methods -----------------------------------------------------------------------------------
    async def _get_me(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        offset = _int(params, "offset") or 0
        limit = min(max(_int(params, "limit") or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: invalid timeout specified") from None
        allowed = _json(params, "allowed_updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self._lock:
            if self.webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                    "deleteWebhook to delete the webhook first")
            if isinstance(allowed, list):  # remembered for later calls, as on Telegram; [] = the default
                self._allowed = frozenset(allowed) or DEFAULT_ALLOWED
            # A newer getUpdates ends the one waiting (Telegram answers that one 409).
            self._poll_generation += 1
            mine = self._poll_generation
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._changed()
        while True:
            with self._lock:
                if self._poll_generation != mine:
                    self.conflicts += 1
                    raise ApiError(409, CONFLICT)
                # Updates of types not allowed are dropped, not kept for later (as on Telegram).
                self._updates = [u for u in self._updates if _update_type(u) in self._allowed]
                ready = copy.deepcopy(self._updates[:limit])
                if ready or self._closing or loop.time() >= deadline:
                    return ready
                self.polling += 1
                self._changed()  # before registering: it would wake this very request
                future: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, future))
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, max(deadline - loop.time(), 0))
            finally:
                with self._lock:
                    self.polling -= 1
                    self._changed()

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        url = _str(params, "url") or ""
        with self._lock:
            self.webhook_url = url
            if _bool(params, "drop_pending_updates"):
                self._updates.clear()
            self._changed()
        return _ok(True, "Webhook was set" if url else "Webhook was deleted")

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            was_set, self.webhook_url = bool(self.webhook_url), ""
            if _bool(params, "drop_pending_updates"):
                self._updates.clear()
            self._changed()
        return _ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        with self._lock:
            return {"url": self.webhook_url, "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        chat_id = _chat_id(params)
        text, plain, entities = _format(params)
        markup = _reply_markup(params)
        now = time.monotonic()
        with self._lock:
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            last = self._last_sent.get(chat_id)
            if self.per_chat_interval is not None and last is not None and now - last < self.per_chat_interval:
                self.throttled += 1
                self._changed()
                retry_after = max(1, math.ceil(self.per_chat_interval - (now - last)))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
            self._last_sent[chat_id] = now
            message: dict[str, Any] = {"message_id": self._next_message_id(chat_id),
                                       "from": _sender(self.bot_user), "chat": self._chat(chat_id),
                                       "date": int(time.time()), "text": plain}
            _set_content(message, entities, markup)
            self.messages[(chat_id, message["message_id"])] = message
            self.sent.append({"chat_id": chat_id, "message_id": message["message_id"], "text": text, "plain": plain,
                              "entities": entities, "parse_mode": _str(params, "parse_mode"), "reply_markup": markup,
                              "link_preview_options": _json(params, "link_preview_options"),
                              "disable_web_page_preview": _json(params, "disable_web_page_preview"), "at": now})
            self._changed()
            return copy.deepcopy(message)

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "editMessageText")

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "editMessageReplyMarkup")

    def _edit(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        chat_id, message_id = _chat_id(params), _message_id(params)
        markup = _reply_markup(params)
        with self._lock:
            message = self._message(chat_id, message_id)
            if message["from"]["id"] != self.bot_id:
                raise ApiError(400, "Bad Request: message can't be edited")
            if method == "editMessageText":
                text, plain, entities = _format(params)
            else:
                text, plain, entities = message["text"], message["text"], message.get("entities", [])
            # Without reply_markup an edit removes the inline keyboard (Telegram does so).
            keyboard = markup if markup is not None and "inline_keyboard" in markup else None
            if (plain, entities, keyboard) == (message["text"], message.get("entities", []),
                                               message.get("reply_markup")):
                raise ApiError(400, NOT_MODIFIED)
            message["text"] = plain
            message.pop("entities", None)
            message.pop("reply_markup", None)
            _set_content(message, entities, keyboard)
            message["edit_date"] = int(time.time())
            self.edits.append({"method": method, "chat_id": chat_id, "message_id": message_id, "text": text,
                               "plain": plain, "parse_mode": _str(params, "parse_mode"), "reply_markup": markup,
                               "at": time.monotonic()})
            self._changed()
            return copy.deepcopy(message)

    async def _delete_message(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = _chat_id(params), _message_id(params)
        with self._lock:
            if self.messages.pop((chat_id, message_id), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            self.deleted.append((chat_id, message_id))
            self._changed()
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> Any:
        _chat_id(params)
        if not _str(params, "action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = _str(params, "callback_query_id") or ""
        with self._lock:
            update_id = self._queries.pop(query_id, None)  # answered at most once
            if update_id is None:
                raise ApiError(400, QUERY_TOO_OLD)
            self.callback_answers.append({"callback_query_id": query_id, "update_id": update_id,
                                          "text": _str(params, "text"), "show_alert": _bool(params, "show_alert"),
                                          "url": _str(params, "url"), "at": time.monotonic()})
            self._changed()
        return True

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params, "chat_id")
        button = _json(params, "menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise ApiError(400, "Bad Request: can't parse menu button: unsupported type")
        if button["type"] == "web_app":
            if not isinstance(button.get("text"), str) or not button["text"]:
                raise ApiError(400, "Bad Request: can't parse menu button: Text must be non-empty")
            _check_web_app_url(button.get("web_app"), "menu button")
        with self._lock:
            self.menu_buttons[chat_id] = button
            self._changed()
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params, "chat_id")
        with self._lock:
            own = self.menu_buttons.get(chat_id) if chat_id is not None else None
            if own is not None and own["type"] != "default":
                return own
            default = self.menu_buttons.get(None)
            return default if default is not None and default["type"] != "default" else {"type": "commands"}

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = _json(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands: a list of at most 100 commands is expected")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command"))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(command.get("description"), str) or not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(_json(params, "scope")), _str(params, "language_code") or "")
        with self._lock:
            self.commands[key] = commands
            self._changed()
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        return self.my_commands(_json(params, "scope"), _str(params, "language_code") or "")

    async def _delete_my_commands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.commands.pop((_scope_key(_json(params, "scope")), _str(params, "language_code") or ""), None)
            self._changed()
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _phrase(status: int) -> str:
    known = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
    try:
        return known.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True, separators=(",", ":"))


def _sender(user: dict[str, Any]) -> dict[str, Any]:
    """A bot as a message's `from` (without getMe's can_* fields)."""
    return {key: user[key] for key in ("id", "is_bot", "first_name", "username")}


def _set_content(message: dict[str, Any], entities: list[dict[str, Any]], markup: dict[str, Any] | None) -> None:
    if entities:
        message["entities"] = entities
    if markup is not None and "inline_keyboard" in markup:
        message["reply_markup"] = markup  # only inline keyboards come back in a Message
