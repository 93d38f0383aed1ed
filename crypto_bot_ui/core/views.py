"""HTTP endpoints of the core app."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crypto_bot_ui.core.selectors import health_report


@never_cache
@require_GET
async def health(request: HttpRequest) -> JsonResponse:
    """`/api/health`: 200 when Redis and the database answer, 503 otherwise."""
    report = await health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
