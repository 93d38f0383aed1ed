"""One task per channel: claim what is due, send it (a digest if several wait), note the outcome.

A channel never waits for another: each has its own task, its own backoff and its own rate. What
comes faster than `min_interval` piles up and leaves as one digest at the next turn. A failure
puts the claimed deliveries off (the channel's retry-after, else jittered backoff up to
MAX_BACKOFF); they are never dropped before `services.EXPIRY`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async

from bot_api.backoff import Backoff
from bot_api.models import utcnow
from crypto_bot_ui.notify import services
from crypto_bot_ui.notify.channels import SEND_TIMEOUT, Outgoing, Sender
from crypto_bot_ui.notify.errors import ChannelError
from crypto_bot_ui.notify.faults import crash_point

logger = logging.getLogger(__name__)

BATCH = 100
"""Deliveries claimed at a time (a digest holds what fits of them; the rest wait their turn)."""
POLL = 1.0
"""Seconds between two looks at the database when nothing wakes the task (retries falling due,
deliveries made by another notifier)."""
MAX_BACKOFF = 300.0
"""The longest pause between two tries of a channel, whatever it asks for."""
NOTE_TRIES = 8
"""Tries to note a delivered message as sent (about two minutes of database outage) before giving up."""


@dataclass
class DispatchStats:
    """Counters a test or an operator can read."""

    messages: int = 0
    delivered: int = 0
    failures: int = 0
    expired: int = 0


@dataclass
class Dispatcher:
    """Send one channel's pending deliveries until cancelled."""

    sender: Sender
    consumer: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stats: DispatchStats = field(default_factory=DispatchStats)
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=MAX_BACKOFF))
    _last_sent: float = field(default=float("-inf"), init=False)
    _singly: int = field(default=0, init=False)
    """Turns left that send one notification each (after a digest was refused for good)."""

    async def run(self) -> None:
        """Loop: wait for work, keep the channel's pace, send, record."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL)
            self.wake.clear()
            pause = self._last_sent + self.sender.min_interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)  # the channel's pace: what arrives meanwhile joins the digest
            turn = asyncio.ensure_future(self.turn())
            try:
                await asyncio.shield(turn)
            except asyncio.CancelledError:
                await _finish(turn)
                raise
            except Exception:
                logger.exception("%s: could not read or write its deliveries", self.sender.name)
                await asyncio.sleep(self.backoff.next_delay())

    async def turn(self) -> bool:
        """Send what is due now, once; True if something was delivered."""
        claimed = await database_sync_to_async(services.claim_due)(
            channel=self.sender.name, consumer=self.consumer, limit=BATCH)
        if not claimed:
            return False
        count = self.sender.plan([delivery.notification for delivery in claimed])
        if self._singly:  # a digest was refused: one at a time, to give up only the one refused
            count, self._singly = 1, self._singly - 1
        going, rest = claimed[:count], claimed[count:]
        if rest:  # they do not fit in this message: free for the next turn
            await database_sync_to_async(services.release)(ids=[delivery.pk for delivery in rest])
            self.wake.set()
        outgoing = [Outgoing(delivery.notification, repeat=delivery.in_flight) for delivery in going]
        await database_sync_to_async(services.mark_in_flight)(ids=[delivery.pk for delivery in going])
        try:
            await asyncio.wait_for(self.sender.send(outgoing), SEND_TIMEOUT)
        except (ChannelError, TimeoutError) as exc:
            await self._failed(going, exc)
            return False
        crash_point("after-send")
        self._last_sent = time.monotonic()
        self.backoff.reset()
        await self._note_sent([delivery.pk for delivery in going])
        self.stats.messages += 1
        self.stats.delivered += len(going)
        return True

    async def _failed(self, going: list[Any], exc: ChannelError | TimeoutError) -> None:
        """Put the deliveries off (or give them up, if the channel refused them for good)."""
        if isinstance(exc, ChannelError):
            message, permanent, maybe_sent = exc.message, exc.permanent, exc.maybe_sent
            delay = min(exc.retry_after, MAX_BACKOFF) if exc.retry_after else self.backoff.next_delay()
        else:  # no answer in time: it may have arrived
            message, permanent, maybe_sent, delay = "no answer in time", False, True, self.backoff.next_delay()
        self.stats.failures += 1
        self._last_sent = time.monotonic()
        if permanent and len(going) > 1:
            # Which of them is refused is not known: each goes again on its own, at once.
            logger.warning("%s: a digest of %d was refused (%s); sending them one by one",
                           self.sender.name, len(going), message)
            await database_sync_to_async(services.release)(ids=[delivery.pk for delivery in going])
            self._singly = len(going)
            self.wake.set()
            return
        if permanent:
            logger.error("%s: %d notification(s) refused for good, given up: %s", self.sender.name, len(going), message)
        else:
            logger.warning("%s: %d notification(s) not sent, next try in %.0f s: %s",
                           self.sender.name, len(going), delay, message)
        self.stats.expired += await database_sync_to_async(services.put_off)(
            deliveries=going, error=message, until=utcnow() + timedelta(seconds=delay), maybe_sent=maybe_sent,
            permanent=permanent)

    async def _note_sent(self, ids: list[int]) -> None:
        """Note a delivered message; tried again while the database is away, since a delivery left
        pending would be sent again (as a possible repeat) by the next turn."""
        for attempt in range(NOTE_TRIES):
            try:
                await database_sync_to_async(services.mark_sent)(ids=ids)
                return
            except Exception:
                if attempt == NOTE_TRIES - 1:
                    raise
                logger.warning("%s: could not note %d sent notification(s); trying again", self.sender.name, len(ids))
                await asyncio.sleep(min(2.0**attempt, 30.0))


async def _finish(turn: asyncio.Future[bool]) -> None:
    """Stopping: let the turn in progress end first. A message sent but not yet noted as sent would be
    sent again by the next notifier (a kill -9 leaves that window open; a stop must not). Cancelled
    again meanwhile (asyncio.gather cancels its tasks, and then they are cancelled once more), it
    still waits, up to the longest a send may take."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SEND_TIMEOUT + 5
    while not turn.done() and loop.time() < deadline:
        try:
            await asyncio.wait_for(asyncio.shield(turn), deadline - loop.time())
        except asyncio.CancelledError:
            continue
        except Exception:
            logger.debug("the last turn of a stopping dispatcher failed", exc_info=True)
            return
