"""Site-wide small answers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

FAVICON = "core/favicon.svg"
"""The site's icon, a static file (base.html links it; browsers that only try /favicon.ico are sent to it)."""


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """/favicon.ico: a redirect to the SVG icon under its content-hashed static name."""
    # Temporary (302): the hashed name changes with the icon, and a permanent redirect would be kept.
    return HttpResponseRedirect(static(FAVICON))
