"""The Telegram Web App's entry: a page that hands Telegram's initData to the login, and the login."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from crypto_bot_ui.notify.webapp import TelegramLoginError, telegram_user_for

MAX_INIT_DATA = 16_384


@never_cache
@require_http_methods(["GET", "POST"])
def telegram_app(request: HttpRequest) -> HttpResponse:
    """GET: the page Telegram opens (its script posts the initData back here). POST: the login."""
    if request.method == "GET":
        return render(request, "notify/telegram_app.html", {})
    init_data = request.POST.get("init_data", "")[:MAX_INIT_DATA]
    try:
        user = telegram_user_for(init_data=init_data)
    except TelegramLoginError as exc:
        return render(request, "notify/telegram_app.html", {"error": exc.message, "code": exc.code}, status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("dashboard")
