"""HTTP routes."""

from django.contrib import admin
from django.urls import include, path

from crypto_bot_ui.core.views import favicon
from crypto_bot_ui.dashboard.views import index

urlpatterns = [
    path("", index, name="dashboard"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("crypto_bot_ui.api.urls")),
]
