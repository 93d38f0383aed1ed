"""/api/docs/: the API's Swagger UI, from our own static files (drf-spectacular-sidecar), no CDN."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI over /api/schema/, for the same users as the schema (logged in)."""

    url_name = "api-schema"

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        """A page for people: without a session, the login form (and back here) instead of a bare 401."""
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
