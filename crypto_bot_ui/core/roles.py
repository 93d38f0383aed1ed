"""Who may steer the bot: operators hold `trades.control_bot` (the "Operators" group has it);
everyone else who can log in is a viewer. Checked on the server for every command."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

CONTROL_PERMISSION = "trades.control_bot"
"""Start, stop and close positions: every command that changes anything."""
OPERATORS_GROUP = "Operators"


def can_control(user_id: int | None) -> bool:
    """Whether the user may send commands, read afresh from the database (no cached permissions):
    a user removed from Operators or deactivated loses the right at their next command."""
    return user_id is not None and user_id in controllers([user_id])


def controllers(user_ids: Iterable[int]) -> set[int]:
    """Which of these (active) users may send commands: one query, whatever their number. The one
    definition of the role (the page's socket is closed when its answer changes)."""
    app_label, codename = CONTROL_PERMISSION.split(".")
    granted = Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label) | Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label
    )
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True)
    return set(users.filter(granted | Q(is_superuser=True)).values_list("pk", flat=True).distinct())
