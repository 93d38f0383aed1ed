"""Trade records: the model, the recorder that fills it, and its admin."""

from django.apps import AppConfig


class TradesConfig(AppConfig):
    """App config for crypto_bot_ui.trades."""

    name = "crypto_bot_ui.trades"
    label = "trades"
    verbose_name = "Trade records"
