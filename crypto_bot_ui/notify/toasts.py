"""Fired alerts shown on their owners' open pages: one channel-layer group per user.

The notifier sends; in each web process the one control listener (dashboard/control.py) is in the
group of every user with a socket there, and hands the frame to that user's sockets. A toast is
a courtesy of the moment (a page that is closed misses it); the firing itself is stored, listed on
the alerts page and delivered to the alert's other channels.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot_api.events import AlertFiredData, AlertFiredEvent, encode_event

if TYPE_CHECKING:  # the web process's socket side imports this module: it needs none of the notifier
    from crypto_bot_ui.notify.services import Toast

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 2.0
"""Seconds one toast may take to reach the channel layer before it is given up."""
MESSAGE_TYPE = "alert.fired"
"""The channel-layer message type: `{"type": MESSAGE_TYPE, "user": <owner id>, "frame": <alert_fired JSON>}`.
A web process receives the groups of all its users on one channel (dashboard/control.py): `user`
says whose sockets the frame is for; each socket's `alert_fired` sends it."""


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open pages."""
    return f"alerts.user.{user_id}"


def frame_of(toast: Toast) -> str:
    """The `alert_fired` event a page receives, as JSON."""
    data = AlertFiredData(alert_id=toast.alert_id, symbol=toast.symbol, kind=toast.kind, text=toast.text[:300],
                          value=toast.value, fired_at=toast.fired_at)
    return encode_event(AlertFiredEvent(bot=toast.bot, data=data))


async def send(layer: Any, fired: Sequence[Toast]) -> None:
    """Each toast to its owner's pages; a channel layer that fails loses only the toast."""
    if layer is None:
        return
    for toast in fired:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):  # a hung channel layer must not hold up the notifier
                await layer.group_send(user_group(toast.owner_id), {
                    "type": MESSAGE_TYPE, "user": toast.owner_id, "frame": frame_of(toast)})
        except Exception as exc:  # noqa: BLE001 - the firing is stored and delivered elsewhere
            logger.warning("alert %s: toast not sent to the pages: %s", toast.alert_id, exc)
