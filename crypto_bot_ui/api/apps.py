"""The REST API: the dashboard's data for scripts, exports and browsers without WebSockets."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """App config for crypto_bot_ui.api."""

    name = "crypto_bot_ui.api"
    label = "api"
