"""Who may steer the bots: operators hold `trades.control_bot` (the "Operators" group has it) and
steer every bot; a user may also be an operator of some bots only (`Bot.operators`, in the admin).
Everyone else who can log in is a viewer. Checked on the server for every command.

Who may write trades' journal notes: holders of `trades.change_trade_note` (the "Operators" group
has it too) on every bot, a bot's own operators on that bot. Checked on the server for every note."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

CONTROL_PERMISSION = "trades.control_bot"
"""Start, stop and close positions: every command that changes anything, on every bot."""
NOTE_PERMISSION = "trades.change_trade_note"
"""Write the journal note of any bot's trades."""
OPERATORS_GROUP = "Operators"


def can_control(user_id: int | None, bot_id: str | None = None) -> bool:
    """Whether the user may send commands to `bot_id` (None: to every bot, the global right only),
    read afresh from the database (no cached permissions): a user removed from Operators, from the
    bot's operators or deactivated loses the right at their next command."""
    return user_id is not None and user_id in controllers([user_id], bot_id)


def controllers(user_ids: Iterable[int], bot_id: str | None = None) -> set[int]:
    """Which of these (active) users may send commands to `bot_id` (None: to every bot): one query,
    whatever their number. The one definition of the role (the page's socket is closed when its
    answer changes)."""
    return _holders(CONTROL_PERMISSION, user_ids, bot_id)


def controllers_by_bot(user_ids: Iterable[int], bot_ids: Iterable[str | None]) -> dict[str | None, set[int]]:
    """For each bot (None: every bot), which of these users may steer it, as `controllers` answers
    for each: two queries, however many users and bots (the session guard asks every few seconds)."""
    users = list(user_ids)
    bots = set(bot_ids)
    everywhere = controllers(users)
    granted = get_user_model().objects.filter(pk__in=users, is_active=True,
                                             operated_bots__bot_id__in=[b for b in bots if b is not None])
    answer: dict[str | None, set[int]] = {bot: set(everywhere) for bot in bots}
    for user_id, bot_id in granted.values_list("pk", "operated_bots__bot_id"):
        answer[bot_id].add(user_id)
    return answer


def controlled_bots(user_id: int | None, bot_ids: Iterable[str]) -> set[str]:
    """Which of these bots the user may steer (as `can_control` answers for each): two queries at
    most, however many bots."""
    return _granted_bots(CONTROL_PERMISSION, user_id, bot_ids)


def can_note(user_id: int | None, bot_id: str) -> bool:
    """Whether the user may write the journal notes of `bot_id`'s trades, read afresh from the
    database as `can_control` is: the note permission (own, a group's, or superuser), or one of the
    bot's own operators."""
    return user_id is not None and user_id in _holders(NOTE_PERMISSION, [user_id], bot_id)


def noted_bots(user_id: int | None, bot_ids: Iterable[str]) -> set[str]:
    """Which of these bots' trades the user may write notes on (as `can_note` answers for each): two
    queries at most, however many bots."""
    return _granted_bots(NOTE_PERMISSION, user_id, bot_ids)


def _holders(permission: str, user_ids: Iterable[int], bot_id: str | None) -> set[int]:
    """Which of these active users hold `permission` globally or, with `bot_id`, operate that bot: one query."""
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True)
    return set(users.filter(_granted(permission, bot_id)).values_list("pk", flat=True).distinct())


def _granted_bots(permission: str, user_id: int | None, bot_ids: Iterable[str]) -> set[str]:
    """Which of these bots the user holds `permission` for: all of them with the global right, else
    those the user operates."""
    wanted = set(bot_ids)
    if user_id is None or not wanted:
        return set()
    if _holders(permission, [user_id], None):
        return wanted
    user = get_user_model().objects.filter(pk=user_id, is_active=True, operated_bots__bot_id__in=wanted)
    return set(user.values_list("operated_bots__bot_id", flat=True))


def _granted(permission: str, bot_id: str | None) -> Q:
    """The users with the global `permission` (their own, a group's, or superuser), or with a
    grant for `bot_id`."""
    app_label, codename = permission.split(".")
    granted = (
        Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
        | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
        | Q(is_superuser=True)
    )
    return granted if bot_id is None else granted | Q(operated_bots__bot_id=bot_id)
