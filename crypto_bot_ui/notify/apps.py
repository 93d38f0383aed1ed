"""Notifications: the notifier's records, users' alerts and Telegram links."""

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    """App config for crypto_bot_ui.notify."""

    name = "crypto_bot_ui.notify"
    label = "notify"
    verbose_name = "Notifications and alerts"
