"""The Content-Security-Policy header (django-csp), with the page's own WebSocket origin allowed.

The policy itself is CONTENT_SECURITY_POLICY in settings.py; docs/security.md explains each directive.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase


def websocket_origin(request: HttpRequest) -> str | None:
    """The origin the dashboard's socket connects to: this host, `wss:` on HTTPS, `ws:` on HTTP.

    None for a host not in ALLOWED_HOSTS (that request is answered 400 anyway).
    """
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding this host's WebSocket origin to `connect-src`.

    CSP Level 3 lets `'self'` match `ws:`/`wss:` on the page's host (Chromium, Firefox, Safari 15.4+);
    older Safari did not, so the origin is also named explicitly. It is the request's own host,
    already checked against ALLOWED_HOSTS, never a wildcard scheme such as `wss:` (any host).
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        """The configured policy plus `connect-src <ws origin>` (the enforced policy only)."""
        parts = super().get_policy_parts(request, response, report_only)
        origin = websocket_origin(request)
        if not report_only and origin:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", ()), origin]
            parts.update = update
        return parts
