"""The dashboard page."""

from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from crypto_bot_ui.core.roles import CONTROL_PERMISSION
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, current_snapshot

logger = logging.getLogger(__name__)

MODULES = tuple(sorted(
    f"dashboard/{path.name}" for path in (Path(__file__).parent / "static" / "dashboard").glob("*.js")
    if path.name != "dashboard.js"
))
"""The page's ES modules besides dashboard.js (every one in its folder), preloaded so they do not
load one import at a time."""


@never_cache
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The live dashboard, with the bot's latest snapshot inside: figures show before the socket opens.

    The page then resumes the socket from that snapshot's seq, so nothing between the two is lost.
    """
    try:
        snapshot = current_snapshot().model_dump(mode="json")
    except BotDataUnavailableError as exc:
        logger.info("page served without a snapshot: %s", exc)
        snapshot = None
    # Only to show or grey out the controls: the server checks every command itself.
    can_control = request.user.has_perm(CONTROL_PERMISSION)
    return render(request, "dashboard/index.html",
                  {"ws_path": "/ws/dashboard/", "snapshot": snapshot, "can_control": can_control,
                   "modules": MODULES})
