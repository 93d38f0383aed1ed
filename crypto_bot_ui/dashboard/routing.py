"""WebSocket routes of the dashboard app."""

from django.urls import path

from crypto_bot_ui.dashboard.consumers import DashboardConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
]
