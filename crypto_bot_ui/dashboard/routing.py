"""WebSocket routes of the dashboard app."""

from django.urls import path, re_path

from crypto_bot_ui.dashboard.consumers import DashboardConsumer
from crypto_bot_ui.dashboard.overview import OverviewConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),  # the default bot (BOT_ID)
    re_path(r"^ws/bots/(?P<bot_id>[A-Za-z0-9_-]{1,32})/$", DashboardConsumer.as_asgi()),
    path("ws/overview/", OverviewConsumer.as_asgi()),
]
