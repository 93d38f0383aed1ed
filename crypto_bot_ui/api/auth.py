"""How API requests authenticate: the browser's session, with a challenge when there is none."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

CHALLENGE = 'Session realm="api"'
"""The WWW-Authenticate value of a 401: log in (at /accounts/login/) and send the session cookie."""


class ChallengingSessionAuthentication(SessionAuthentication):
    """Session authentication whose missing login is a 401 with `WWW-Authenticate`, as HTTP asks.

    DRF answers 401 only when the first authentication class names a challenge; plain
    SessionAuthentication names none, so without a session DRF said 403, as if refused.
    A logged-in user without the right still gets 403.
    """

    def authenticate_header(self, request: Request) -> str:
        """The challenge DRF puts in WWW-Authenticate on a 401."""
        return CHALLENGE
