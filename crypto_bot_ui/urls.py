"""HTTP routes."""

from django.contrib import admin
from django.urls import include, path, re_path

from crypto_bot_ui.analytics.views import analytics_page
from crypto_bot_ui.core.views import favicon
from crypto_bot_ui.dashboard.views import bot_dashboard, overview
from crypto_bot_ui.notify.views import telegram_app
from crypto_bot_ui.trades.views import journal

urlpatterns = [
    path("", overview, name="dashboard"),
    re_path(r"^bots/(?P<bot_id>[A-Za-z0-9_-]{1,32})/$", bot_dashboard, name="bot-dashboard"),
    path("analytics/", analytics_page, name="analytics"),
    path("trades/", journal, name="journal"),
    path("favicon.ico", favicon, name="favicon"),
    path("telegram/app/", telegram_app, name="telegram-app"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("crypto_bot_ui.api.urls")),
]
