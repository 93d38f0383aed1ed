"""Shared plumbing of the web side: the link to the bot's Redis, health, admin bootstrap."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """App config for crypto_bot_ui.core."""

    name = "crypto_bot_ui.core"
    label = "core"
