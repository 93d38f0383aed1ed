"""The live dashboard: page, WebSocket consumer and the relay that feeds it."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """App config for crypto_bot_ui.dashboard."""

    name = "crypto_bot_ui.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        """Re-check a user's open sockets whenever Django changes their access."""
        from crypto_bot_ui.dashboard import signals  # here: the auth models are ready only now

        signals.connect()
