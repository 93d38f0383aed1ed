"""The analytics page: the figures come from the REST API, the allocation stays live on the overview socket."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, known_bots
from crypto_bot_ui.trades.selectors import recorded_bot_ids

logger = logging.getLogger(__name__)


def bot_choices() -> list[str]:
    """Every bot the page can show: registered ones and those with records (a retired bot's history counts)."""
    try:
        registered = {bot.bot_id for bot in known_bots()}
    except BotDataUnavailableError as exc:
        logger.info("analytics served without the registry: %s", exc)
        registered = set()
    return sorted(registered | set(recorded_bot_ids()))


@never_cache
@login_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    """One bot or every bot: periods, curves, allocation, spread and comparison (`?bot=` preselects one)."""
    bots = bot_choices()
    chosen = request.GET.get("bot", "")
    return render(request, "analytics/analytics.html", {
        "bots": bots, "chosen": chosen if chosen in bots else "", "ws_path": "/ws/overview/",
    })
