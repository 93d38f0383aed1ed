"""The dashboard as a Telegram Web App: a signed `initData` logs in the Django user linked to that
Telegram account, with that user's own role. No link, no login; each initData logs in once."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from redis.exceptions import RedisError

from crypto_bot_ui.core.bot_link import bot_keys, sync_redis
from crypto_bot_ui.notify.errors import NotifyError
from crypto_bot_ui.notify.models import TelegramLink
from crypto_bot_ui.notify.telegram_login import InitDataError, validate_init_data

logger = logging.getLogger(__name__)


class TelegramLoginError(NotifyError):
    """The Telegram login was refused. Not retryable with the same initData; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def telegram_user_for(*, init_data: str) -> Any:
    """The active Django user the signed `init_data` stands for; raise TelegramLoginError."""
    notify = settings.NOTIFY
    if not notify.telegram_bot_token:
        raise TelegramLoginError("telegram_off", "Telegram sign-in is not set up on this dashboard.")
    try:
        telegram_user = validate_init_data(init_data, bot_token=notify.telegram_bot_token,
                                           max_age=notify.telegram_login_max_age)
    except InitDataError as exc:
        logger.warning("Telegram sign-in refused: %s", exc.code)
        raise TelegramLoginError(exc.code, _WHY.get(exc.code, "Telegram's sign-in data is not valid.")) from None
    link = TelegramLink.objects.select_related("user").filter(telegram_user_id=telegram_user.id).first()
    if link is None or not link.user.is_active:
        logger.warning("Telegram sign-in refused: Telegram user %s is not linked to an active user", telegram_user.id)
        raise TelegramLoginError("not_linked", "This Telegram account is not linked to a dashboard user. "
                                               "Ask an admin to link it (Admin > Telegram links).")
    if link.user.is_staff or link.user.is_superuser:
        # The admin site is not one Telegram account away: admins sign in with their password (and
        # the lockout that guards it).
        logger.warning("Telegram sign-in refused: %s is an admin account", link.user.get_username())
        raise TelegramLoginError("admin_account", "Admin accounts sign in with their password, not through "
                                                  "Telegram. Use a viewer or operator account here.")
    _use_once(init_data, notify.telegram_login_max_age)
    return link.user


_WHY = {
    "expired": "This sign-in link has expired: close the dashboard in Telegram and open it again.",
    "bad_hash": "Telegram's signature does not match: this sign-in was not made by Telegram for this bot.",
    "malformed": "Telegram's sign-in data is malformed.",
    "no_user": "Telegram sent no user with the sign-in data.",
}


def _use_once(init_data: str, max_age: int) -> None:
    """Refuse an initData that already logged someone in (a copied URL, a leaked log line)."""
    init_hash = dict(parse_qsl(init_data)).get("hash", "")
    try:
        fresh = sync_redis().set(bot_keys().telegram_login_key(init_hash), "1", nx=True, ex=max_age + 60)
    except (RedisError, OSError) as exc:
        # Without Redis, replay cannot be ruled out: refuse rather than guess.
        raise TelegramLoginError("unavailable", "Sign-in is unavailable for a moment; try again.") from exc
    if not fresh:
        raise TelegramLoginError("used", "This sign-in was already used: open the dashboard from Telegram again.")
