"""The channels a notification can leave by: a Telegram chat, an Apprise URL, the JSON webhook.

Each sender says how many of the oldest pending notifications of its channel its next message
holds (`plan`), then sends that message or raises ChannelError. Secrets (the bot
token, Apprise URLs with keys, the webhook URL) never appear in an error or a log line: the
channel's name (`telegram:<chat>`, `apprise:<digest>`, `webhook`) says which failed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from crypto_bot_ui.notify import digest
from crypto_bot_ui.notify.errors import ChannelError
from crypto_bot_ui.notify.models import Notification

logger = logging.getLogger(__name__)

# python-telegram-bot 22 gives durations (RetryAfter.retry_after) as timedelta when asked to, and
# warns on every use otherwise: its next major version always will.
os.environ.setdefault("PTB_TIMEDELTA", "1")

_CHAT_GONE = "chat not found"
_WEBHOOK_RETRYABLE = frozenset({401, 403, 404, 408, 409, 425, 429})
"""Webhook answers that say "not now" or "not set up right yet" rather than "never this request"."""
SEND_TIMEOUT = 20.0
"""Seconds one send may take before it counts as failed (and is tried again later)."""


REPEAT_NOTE = "(Sent again after a restart: it may have reached you already.)"
"""Said under a message whose earlier send had an unknown outcome (the notifier died during it)."""


def item_of(notification: Notification) -> digest.Item:
    """What a message needs of a stored notification."""
    return digest.Item(bot=notification.bot_id, kind=notification.kind, title=notification.title,
                       text=notification.text, link=notification.link)


@dataclass(frozen=True)
class Outgoing:
    """A notification on its way, and whether an earlier send of it may have arrived."""

    notification: Notification
    repeat: bool = False


class Sender(Protocol):
    """One channel: its name, how often it may be sent to, how much one message holds, how to send."""

    name: str
    min_interval: float

    def plan(self, notifications: Sequence[Notification]) -> int:
        """How many of `notifications` (from the first, at least one) the next message carries."""
        ...

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """Send them as one message; raise ChannelError if the channel did not take it."""
        ...


class _Digesting:
    """A channel that takes a digest when several notifications wait."""

    limit = digest.DEFAULT_LIMIT - len(REPEAT_NOTE) - 1

    def plan(self, notifications: Sequence[Notification]) -> int:
        """As many as one message of `limit` characters holds."""
        return digest.compose([item_of(n) for n in notifications], self.limit).count

    def message(self, outgoing: Sequence[Outgoing]) -> digest.Message:
        """The digest of `outgoing`, with the repeat note when one of them may have arrived before."""
        message = digest.compose([item_of(o.notification) for o in outgoing], self.limit)
        if any(o.repeat for o in outgoing):
            message = digest.Message(title=message.title, body=f"{message.body}\n{REPEAT_NOTE}".strip(),
                                     count=message.count)
        return message


class TelegramSender(_Digesting):
    """One Telegram chat, through python-telegram-bot; a digest when notifications pile up."""

    limit = digest.TELEGRAM_LIMIT - len(REPEAT_NOTE) - 1

    def __init__(self, bot: Bot, chat_id: int, *, min_interval: float) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.name = f"telegram:{chat_id}"
        self.min_interval = min_interval

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """One message to the chat."""
        try:
            await self.bot.send_message(self.chat_id, self.message(outgoing).text,
                                        link_preview_options=LinkPreviewOptions(is_disabled=True))
        except RetryAfter as exc:
            raise ChannelError(self.name, "Telegram asks to slow down", retry_after=retry_seconds(exc)) from None
        except BadRequest as exc:
            if _CHAT_GONE in exc.message.lower():
                # A setting to fix (a wrong chat id, the bot not in the group): retried with backoff
                # until the delivery expires, so that fixing it delivers the backlog.
                raise ChannelError(self.name, "Telegram: chat not found") from None
            # This message itself is refused: sending it again cannot help, and it must not hold up the chat.
            raise ChannelError(self.name, f"Telegram refused the message: {exc.message[:100]}",
                               permanent=True) from None
        except (Forbidden, InvalidToken) as exc:
            # The bot was blocked or the token revoked: a person must act (retried, as above).
            # InvalidToken's own text quotes the token: only its type is said.
            raise ChannelError(self.name, f"Telegram refused: {type(exc).__name__}") from None
        except TimedOut:
            raise ChannelError(self.name, "Telegram did not answer in time", maybe_sent=True) from None
        except TelegramError as exc:
            # A NetworkError may come after the request went out (a connection reset mid-answer).
            raise ChannelError(self.name, f"Telegram unreachable: {type(exc).__name__}",
                               maybe_sent=isinstance(exc, NetworkError)) from None


class AppriseSender(_Digesting):
    """One Apprise URL (Discord, Slack, email, ntfy, Pushover, a JSON webhook...)."""

    def __init__(self, url: str, name: str, index: int, *, min_interval: float) -> None:
        import apprise  # loads its many plug-ins: only in a notifier that has Apprise URLs

        self.name = name
        self.min_interval = min_interval
        self._apprise: Any = apprise.Apprise()
        if not self._apprise.add(url):
            # Said once at start-up; the URL itself is never printed (it may hold a key).
            logger.error("NOTIFY_URLS: URL number %d is not one Apprise understands: it is skipped", index + 1)
            self._apprise = None

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """One message to the URL."""
        if self._apprise is None:
            raise ChannelError(self.name, "not a URL Apprise understands")
        message = self.message(outgoing)
        if not await self._apprise.async_notify(body=message.body or message.title, title=message.title):
            raise ChannelError(self.name, "Apprise could not deliver (its log says why)")


class WebhookSender:
    """A plain HTTP endpoint: each notification POSTed as JSON on its own, never a digest.

    The `Idempotency-Key` header (bot and key) lets a receiver drop a repeat, which carries
    `"repeat": true` (its notifier died while sending it before).
    """

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.name = "webhook"
        self.min_interval = 0.0
        self._url = url
        self._client = client

    def plan(self, notifications: Sequence[Notification]) -> int:
        """One request carries one notification."""
        return 1

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """POST the notification; a 2xx answer is a delivery."""
        for one in outgoing:
            body = {**payload(one.notification), "repeat": one.repeat}
            key = f"{one.notification.bot_id}:{one.notification.key}"
            try:
                response = await self._client.post(self._url, json=body, headers={"Idempotency-Key": key})
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise ChannelError(self.name, f"webhook unreachable: {type(exc).__name__}") from None
            except httpx.HTTPError as exc:  # the request may have reached it: the next try says so
                raise ChannelError(self.name, f"webhook failed: {type(exc).__name__}", maybe_sent=True) from None
            if response.status_code >= 300:
                retry = response.headers.get("Retry-After", "")
                status = response.status_code
                # A 4xx other than these refuses this request for what it is: it will never be taken.
                permanent = 400 <= status < 500 and status not in _WEBHOOK_RETRYABLE
                raise ChannelError(self.name, f"webhook answered {status}", permanent=permanent,
                                   retry_after=float(retry) if retry.isdigit() else None)


def payload(notification: Notification) -> dict[str, Any]:
    """The webhook's JSON for one notification: `{bot, kind, title, text, seq, ts, data}` (+ key, link)."""
    return {"bot": notification.bot_id, "kind": notification.kind, "title": notification.title,
            "text": notification.text, "seq": notification.seq, "ts": notification.occurred_at.isoformat(),
            "data": notification.data, "key": notification.key, "link": notification.link}


def retry_seconds(exc: RetryAfter) -> float:
    """The pause Telegram asked for, in seconds (PTB gives an int or a timedelta)."""
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
