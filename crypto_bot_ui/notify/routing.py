"""Which channels a notification goes to: derived once from the settings (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from crypto_bot_ui.env import NotifySettings

TELEGRAM = "telegram"
APPRISE = "apprise"
WEBHOOK = "webhook"
PAGE = "page"


def telegram_channel(chat_id: int) -> str:
    """The channel name of one Telegram chat."""
    return f"{TELEGRAM}:{chat_id}"


def chat_of(channel: str) -> int | None:
    """The chat id of a Telegram channel name, else None."""
    head, _, tail = channel.partition(":")
    return int(tail) if head == TELEGRAM and tail.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class Routes:
    """The configured channels and the kinds each is sent."""

    telegram_chats: tuple[int, ...] = ()
    telegram_kinds: frozenset[str] = frozenset()
    apprise: tuple[str, ...] = ()
    """The Apprise URLs' channel names (`apprise_channel`): each URL is its own channel, so one that
    fails neither holds up nor repeats the others."""
    apprise_kinds: frozenset[str] = frozenset()
    webhook_kinds: frozenset[str] = frozenset()
    """Empty when there is no webhook."""

    @classmethod
    def of(cls, notify: NotifySettings) -> Routes:
        """The routes the settings configure (a channel without its secret is off)."""
        telegram = bool(notify.telegram_bot_token)
        return cls(
            telegram_chats=tuple(int(chat) for chat in notify.telegram_chat_ids) if telegram else (),
            telegram_kinds=frozenset(notify.telegram_kinds) if telegram else frozenset(),
            apprise=tuple(apprise_channel(url) for url in apprise_urls(notify.notify_urls)),
            apprise_kinds=frozenset(notify.notify_urls_kinds),
            webhook_kinds=frozenset(notify.notify_webhook_kinds) if notify.notify_webhook_url.strip() else frozenset(),
        )

    def channels(self) -> list[str]:
        """Every channel that may carry something."""
        names = [telegram_channel(chat) for chat in self.telegram_chats]
        return names + self._apprise() + [WEBHOOK] * bool(self.webhook_kinds)

    def broadcast(self, kind: str) -> list[str]:
        """The channels a bot's notification of `kind` goes to."""
        names = [telegram_channel(chat) for chat in self.telegram_chats] if kind in self.telegram_kinds else []
        names += self._apprise() if kind in self.apprise_kinds else []
        return names + [WEBHOOK] * (kind in self.webhook_kinds)

    def for_alert(self, wanted: Iterable[str], owner_chat: int | None, *, shared: bool) -> list[str]:
        """The channels of one user's alert that take alerts (`*_KINDS`): its owner's own Telegram chat
        (if allowed), and, when `shared` (the owner operates the bot), the Apprise URLs and the
        webhook; `page` is not a stored delivery."""
        wanted = set(wanted)
        names = []
        if (TELEGRAM in wanted and "alert" in self.telegram_kinds and owner_chat is not None
                and owner_chat in self.telegram_chats):
            names.append(telegram_channel(owner_chat))
        if APPRISE in wanted and shared and "alert" in self.apprise_kinds:
            names.extend(self._apprise())
        if WEBHOOK in wanted and shared and "alert" in self.webhook_kinds:
            names.append(WEBHOOK)
        return names

    def _apprise(self) -> list[str]:
        return list(self.apprise)


def apprise_channel(url: str) -> str:
    """The channel name of one Apprise URL: stable whatever its place in NOTIFY_URLS (reordering the
    setting sends nothing pending to another service), and saying nothing of the URL's secrets (a
    digest of a URL that holds a long random key cannot be turned back into it)."""
    return f"{APPRISE}:{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def apprise_urls(setting: str) -> list[str]:
    """The Apprise URLs of NOTIFY_URLS, split as Apprise splits them (a comma inside a URL's query stays)."""
    from apprise.utils.parse import parse_urls  # Apprise loads its plug-ins on import: only when needed

    return [url for url in parse_urls(setting) if url]
