"""The trade history page (the journal): every trade, filtered and paged, with notes written inline."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from bot_api.models import CENT_ASSETS
from crypto_bot_ui.analytics.views import bot_choices
from crypto_bot_ui.core.roles import NOTE_PERMISSION, noted_bots
from crypto_bot_ui.trades.models import NOTE_MAX_CHARS
from crypto_bot_ui.trades.selectors import traded_symbols


def journal_config(user: Any) -> dict[str, Any]:
    """What the page needs besides /api/trades: the bots and symbols its filters offer, and which
    bots' notes this user may write (`note_all`: every bot's, those that appear later too). Only to
    show or hide the note buttons: the server checks every note itself."""
    bots = bot_choices()
    note_all = bool(user.is_active and user.has_perm(NOTE_PERMISSION))
    note_bots = sorted(noted_bots(user.pk, bots))
    return {
        "bots": bots,
        "symbols": traded_symbols(bot_id=None),
        "can_note": note_all or bool(note_bots),
        "note_all": note_all,
        "note_bots": note_bots,
        "note_max": NOTE_MAX_CHARS,
        "cent_assets": sorted(CENT_ASSETS),  # quote assets shown in cents, as the bots' pages do
    }


@never_cache
@login_required
def journal(request: HttpRequest) -> HttpResponse:
    """The trade history (built by the page from /api/trades; the filters live in the URL's query)."""
    config = journal_config(request.user)
    return render(request, "trades/journal.html", {**config, "config": config})
