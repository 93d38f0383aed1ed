"""Who may steer the bot: operators hold `trades.control_bot` (the "Operators" group has it);
everyone else who can log in is a viewer. Checked on the server for every command."""

from __future__ import annotations

from django.contrib.auth import get_user_model

CONTROL_PERMISSION = "trades.control_bot"
"""Start, stop and close positions: every command that changes anything."""
OPERATORS_GROUP = "Operators"


def can_control(user_id: int | None) -> bool:
    """Whether the user may send commands, read afresh from the database (no cached permissions):
    a user removed from Operators or deactivated loses the right at their next command."""
    if user_id is None:
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return user is not None and user.has_perm(CONTROL_PERMISSION)
