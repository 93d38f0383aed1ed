"""The live dashboard: page, WebSocket consumer and the relay that feeds it."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """App config for crypto_bot_ui.dashboard."""

    name = "crypto_bot_ui.dashboard"
    label = "dashboard"
