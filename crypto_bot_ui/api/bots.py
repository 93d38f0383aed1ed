"""Which bot a request is about: the `bot` query parameter, checked against the bots there are."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from bot_api.models import BOT_ID_PATTERN
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, is_known_bot
from crypto_bot_ui.trades.selectors import has_records

BOT_HELP = "The bot's id (default: the default bot, BOT_ID); a bot no one knows of is a 404 `unknown_bot`."
EVERY_BOT_HELP = "Only this bot's trades (default: every bot's); a bot no one knows of is a 404 `unknown_bot`."


class BotQuery(serializers.Serializer):  # type: ignore[type-arg]
    """`bot`: which bot (default: the default bot, BOT_ID)."""

    bot = serializers.RegexField(BOT_ID_PATTERN, max_length=32, required=False, help_text=BOT_HELP)


def requested_bot(request: Request) -> str:
    """The bot the request names (`bot`), else the default bot; a malformed id is a 400 and an
    unknown one a 404 `unknown_bot`."""
    return requested_bot_filter(request) or str(settings.BOT_ID)


def requested_bot_filter(request: Request) -> str | None:
    """The bot the request names (`bot`), else None (every bot); a malformed id is a 400 and an
    unknown one a 404 `unknown_bot`."""
    query = BotQuery(data={"bot": request.query_params["bot"]} if "bot" in request.query_params else {})
    query.is_valid(raise_exception=True)
    bot_id: str | None = query.validated_data.get("bot")
    if bot_id is not None:
        ensure_known(bot_id)
    return bot_id


def ensure_known(bot_id: str) -> None:
    """Raise a 404 `unknown_bot` unless the bot is the default one, has records, or is registered.

    Without Redis the registry cannot be read: the bot is then taken as known (an endpoint that
    needs Redis answers 503 itself, and one that reads the database finds what there is)."""
    if bot_id == settings.BOT_ID or has_records(bot_id=bot_id):
        return
    try:
        known = is_known_bot(bot_id)
    except BotDataUnavailableError:
        return
    if not known:
        raise NotFound(f"there is no bot {bot_id!r}: no bot of that id is registered or has records",
                       code="unknown_bot")
