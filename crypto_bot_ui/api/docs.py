"""/api/docs/: the API's Swagger UI, from our own static files (drf-spectacular-sidecar), no CDN, and
nothing inline (the Content-Security-Policy allows no inline script or style)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI over /api/schema/, for the same users as the schema (logged in).

    The split view serves Swagger UI's start-up script from this URL with `?script=` instead of
    inline; our template links the page's few style rules from a file instead of a `<style>`.
    """

    url_name = "api-schema"
    template_name = "api/swagger_ui.html"

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        """A page for people: without a session, the login form (and back here) instead of a bare 401."""
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
