"""Two login limits for django-axes: one for a user name from one address, a higher one for the name.

django-axes counts failures per AXES_LOCKOUT_PARAMETERS key (here `[["username", "ip_address"],
"username"]`) but compares the largest count with a single AXES_FAILURE_LIMIT. One limit for
both keys would make the pair key pointless and let anyone lock a user out with as few failures
as a typo-prone user makes. This handler keeps LOGIN_FAILURE_LIMIT for the pair and locks the user
name from every address only at LOGIN_USER_FAILURE_LIMIT (an attacker rotating addresses).

A successful login forgets the failures of that name from that address only: it proves nothing
about the other addresses, whose failures keep counting towards the name's limit (django-axes
would delete every row the name-only key matches, a fresh budget for an attacker each time the
user logs in).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class TwoLimitHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """AxesDatabaseHandler with its own limit for the user-name-only key."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """The pair's failures, or the pair limit itself once the name alone reached its own limit."""
        pair, name = (
            int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)
            for attempts in self.get_user_attempts(request, credentials)
        )
        if name >= settings.LOGIN_USER_FAILURE_LIMIT:
            return max(pair, int(get_failure_limit(request, credentials)))
        return pair

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """After a successful login: delete the failures of this name from this address, no others."""
        pair = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair.delete()
        return int(count)
