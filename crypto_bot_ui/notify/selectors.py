"""Reads of users' alerts and their firings. An alert is its owner's alone: every read is of one
user's own (an admin's too: alerts are personal; the Django admin lists everyone's)."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, QuerySet

from crypto_bot_ui.notify.models import Alert, AlertFiring

FIRINGS_MAX = 200
"""Most firings one read returns."""


def alerts_of(*, user: Any, bot_id: str | None = None) -> QuerySet[Alert]:
    """The user's alerts (on one bot, or on every bot), newest first, each with `last_fired_at`."""
    alerts = Alert.objects.filter(owner_id=user.pk)
    if bot_id is not None:
        alerts = alerts.filter(bot_id=bot_id)
    return alerts.annotate(last_fired_at=Max("firings__fired_at")).order_by("-id")


def alert_of(*, user: Any, alert_id: int) -> Alert:
    """One of the user's alerts; Alert.DoesNotExist if there is none of that id, or it is someone else's."""
    return alerts_of(user=user).get(pk=alert_id)


def firings_of(*, user: Any, alert_id: int | None = None, bot_id: str | None = None,
               limit: int = 50) -> list[AlertFiring]:
    """The user's most recent firings (of one alert, of the alerts on one bot, or of all), newest first,
    each with its alert."""
    firings = AlertFiring.objects.filter(alert__owner_id=user.pk).select_related("alert")
    if alert_id is not None:
        firings = firings.filter(alert_id=alert_id)
    if bot_id is not None:
        firings = firings.filter(alert__bot_id=bot_id)
    return list(firings.order_by("-fired_at", "-id")[:max(0, min(limit, FIRINGS_MAX))])
