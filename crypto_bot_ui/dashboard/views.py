"""The pages: the overview of every bot, and each bot's dashboard."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from crypto_bot_ui.core.roles import can_control as can_control_bot
from crypto_bot_ui.dashboard.selectors import (
    BotDataUnavailableError,
    bot_overview,
    current_snapshot,
    is_known_bot,
)
from crypto_bot_ui.trades.selectors import equity_sparks, has_records

logger = logging.getLogger(__name__)

_STATIC = Path(__file__).parent / "static" / "dashboard"
MODULES = tuple(sorted(f"dashboard/{path.name}" for path in _STATIC.glob("*.js") if path.name != "dashboard.js"))
"""The bot page's ES modules besides dashboard.js (every one in its folder), preloaded so they do
not load one import at a time."""
OVERVIEW_MODULES = tuple(sorted(f"dashboard/overview/{path.name}" for path in (_STATIC / "overview").glob("*.js")))
"""The overview's modules (in overview/), preloaded alike."""


@never_cache
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Every bot side by side, updated live; with fewer than two bots, that bot's page (`?all`
    shows the list anyway)."""
    try:
        bots = bot_overview()
    except BotDataUnavailableError as exc:
        logger.info("overview served without bots: %s", exc)
        bots = []
    if len(bots) < 2 and "all" not in request.GET:
        return redirect("bot-dashboard", bot_id=bots[0][0] if bots else settings.BOT_ID)
    rows = [{"bot": bot_id, **summary.model_dump(mode="json")} for bot_id, summary in bots]
    return render(request, "dashboard/overview.html",
                  {"ws_path": "/ws/overview/", "bots": rows, "sparks": equity_sparks([b for b, _ in bots]),
                   "modules": OVERVIEW_MODULES})


@never_cache
@login_required
def bot_dashboard(request: HttpRequest, bot_id: str) -> HttpResponse:
    """One bot's live dashboard, with its latest snapshot inside: figures show before the socket opens.

    The page then resumes the socket from that snapshot's seq, so nothing between the two is lost.
    """
    # Known as the REST API knows bots: registered, the default one, or one with records (a retired
    # bot's page still shows its history).
    try:
        known = has_records(bot_id=bot_id) or is_known_bot(bot_id)
    except BotDataUnavailableError:
        known = True  # Redis is away: the page says so itself, and retries
    if not known:
        raise Http404(f"there is no bot {bot_id!r}")
    try:
        snapshot = current_snapshot(bot_id).model_dump(mode="json")
    except BotDataUnavailableError as exc:
        logger.info("page served without a snapshot: %s", exc)
        snapshot = None
    # Only to show or grey out the controls: the server checks every command itself.
    can_control = can_control_bot(request.user.pk, bot_id)
    return render(request, "dashboard/index.html",
                  {"ws_path": f"/ws/bots/{bot_id}/", "bot_id": bot_id, "snapshot": snapshot,
                   "can_control": can_control, "modules": MODULES})
