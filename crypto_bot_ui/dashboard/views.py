"""The dashboard page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


@never_cache
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The live dashboard; all data arrives over the WebSocket."""
    return render(request, "dashboard/index.html", {"ws_path": "/ws/dashboard/"})
