"""Analytics: how the bots are doing by period, by bot, strategy and symbol, and where the money sits."""

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """App config for crypto_bot_ui.analytics (no models: it reads the trades app's records)."""

    name = "crypto_bot_ui.analytics"
    label = "analytics"
    verbose_name = "Analytics"
