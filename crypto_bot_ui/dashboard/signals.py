"""Where Django reports that a user's access may have changed; each receiver only names the users
and leaves the rest to `control.access_changed_on_commit` (the sockets are re-checked there)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from crypto_bot_ui.dashboard.control import access_changed_on_commit
from crypto_bot_ui.trades.models import Bot


def _user_saved_or_deleted(sender: Any, instance: Any, update_fields: Any = None, **_: Any) -> None:
    # Any save (deactivation, a new password, a superuser flag) but a login's: a re-check is three
    # queries, and each login saves last_login alone.
    if update_fields is not None and set(update_fields) == {"last_login"}:
        return
    access_changed_on_commit(instance.pk)


def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        access_changed_on_commit(user.pk)


def _user_relation_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                           **_: Any) -> None:
    """A user's groups or own permissions: forward from the user, reverse from the group/permission."""
    if not action.startswith("post_"):
        return
    if not reverse:
        access_changed_on_commit(instance.pk)
    elif pk_set:
        access_changed_on_commit(*pk_set)
    elif action == "post_clear":  # pk_set is None: who was in it is gone; all users re-checked
        access_changed_on_commit(*get_user_model().objects.values_list("pk", flat=True))


def _group_permissions_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                               **_: Any) -> None:
    """A group's permissions: every member of the group(s) concerned."""
    if not action.startswith("post_"):
        return
    groups = [instance.pk] if not reverse else list(pk_set or Group.objects.values_list("pk", flat=True))
    access_changed_on_commit(*get_user_model().objects.filter(groups__in=groups).values_list("pk", flat=True)
                             .distinct())


def _bot_operators_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                           **_: Any) -> None:
    """A bot's own operators: forward from the bot (the users in pk_set), reverse from the user."""
    if not action.startswith("post_"):
        return
    if reverse:
        access_changed_on_commit(instance.pk)
    elif pk_set:
        access_changed_on_commit(*pk_set)
    elif action == "post_clear":  # pk_set is None: who was in it is gone; all users re-checked
        access_changed_on_commit(*get_user_model().objects.values_list("pk", flat=True))


def connect() -> None:
    """Connect the receivers (from the app's `ready`)."""
    user = get_user_model()
    post_save.connect(_user_saved_or_deleted, sender=user, dispatch_uid="dashboard-user-saved")
    post_delete.connect(_user_saved_or_deleted, sender=user, dispatch_uid="dashboard-user-deleted")
    user_logged_out.connect(_logged_out, dispatch_uid="dashboard-logged-out")
    m2m_changed.connect(_user_relation_changed, sender=user.groups.through, dispatch_uid="dashboard-user-groups")
    m2m_changed.connect(_user_relation_changed, sender=user.user_permissions.through,
                        dispatch_uid="dashboard-user-permissions")
    m2m_changed.connect(_group_permissions_changed, sender=Group.permissions.through,
                        dispatch_uid="dashboard-group-permissions")
    m2m_changed.connect(_bot_operators_changed, sender=Bot.operators.through, dispatch_uid="dashboard-bot-operators")
