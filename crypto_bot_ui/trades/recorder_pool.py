"""Every bot's records: one `Recorder` thread per bot found in the registry (and the default bot).

Each bot has its own trades stream, and on each stream one consumer group, `recorder`: a bot's
entries are stored once whichever recorder process reads them. Each recorder process runs one
thread per bot under the same consumer name (RECORDER_NAME), so a restarted process re-reads its
own pending entries of every bot; several recorder processes share each bot's group, and one that
dies leaves its entries to be claimed by another (see recorder.py).

Every second the pool reads the registry: a bot that appears gets its thread within that second,
a bot retired from the list (it is offline) has its thread stopped (what it left unacknowledged
stays pending in the group, for when it comes back). The number of threads is capped at
`bot_api.registry.MAX_BOTS`. A Redis outage only pauses discovery: the running threads ride it
out on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import close_old_connections, connections

from bot_api.errors import TransportError
from bot_api.keys import RedisKeys
from bot_api.redis_conn import Where, connect_sync
from bot_api.registry import MAX_BOTS, BotSeen, discover_blocking
from crypto_bot_ui.trades.recorder import Recorder, RecorderStats
from crypto_bot_ui.trades.services import note_bots

logger = logging.getLogger(__name__)

DISCOVER_INTERVAL = 1.0
"""Seconds between two reads of the registry: a new bot's trades are recorded within it."""
RENOTE_INTERVAL = 60.0
"""Seconds after which the bots are noted in the database again even if none came or went (heals
a retirement that raced with the bot's return)."""
JOIN_TIMEOUT = 15.0
"""Longest wait for one recorder thread to finish its batch when stopping."""


@dataclass
class _Running:
    """One bot's recorder and the thread that runs it."""

    recorder: Recorder
    stop: threading.Event
    thread: threading.Thread


@dataclass
class RecorderPool:
    """Run a Recorder for the default bot (`keys.bot_id`) and each bot the registry under
    `keys.prefix` lists, until stopped."""

    redis_url: Where
    """Redis: a URL, or the master its Sentinels name (`bot_link.redis_target()`)."""
    keys: RedisKeys
    consumer: str
    interval: float = DISCOVER_INTERVAL
    max_bots: int = MAX_BOTS
    recorder_options: dict[str, Any] = field(default_factory=dict)
    """Passed to each Recorder (batch_size, block_ms, claim_idle_ms)."""
    note: Callable[..., int] = note_bots
    _running: dict[str, _Running] = field(default_factory=dict, init=False)
    _noted: frozenset[str] | None = field(default=None, init=False)
    _noted_at: float = field(default=0.0, init=False)
    _over_cap: frozenset[str] = field(default=frozenset(), init=False)

    def run(self, stop: threading.Event) -> None:
        """Discover and record until `stop` is set; then stop every thread and wait for it."""
        client: redis.Redis | None = None
        failing = False
        try:
            while not stop.is_set():
                try:
                    if client is None:
                        client = connect_sync(self.redis_url)
                    seen = discover_blocking(client, self.keys)
                except TransportError as exc:
                    if not failing:
                        logger.warning("recorder pool cannot read the bot registry (recording goes on): %s", exc)
                    failing = True
                    _close(client)
                    client = None
                    self._keep_alive()  # the bots known so far keep their threads
                else:
                    if failing:
                        logger.info("recorder pool reads the bot registry again")
                    failing = False
                    self._note([bot.bot_id for bot in seen])
                    self._reconcile(self._wanted(seen), stop)
                stop.wait(self.interval)
        finally:
            _close(client)
            self._stop_all()
            connections.close_all()  # this thread's database connection (note_bots)

    def bots(self) -> list[str]:
        """The bots with a recorder thread now, by id."""
        return sorted(bot_id for bot_id, running in list(self._running.items()) if running.thread.is_alive())

    def stats(self) -> dict[str, RecorderStats]:
        """Each bot's recorder counters (of the bots recorded now)."""
        return {bot_id: running.recorder.stats for bot_id, running in sorted(list(self._running.items()))}

    def _wanted(self, seen: Sequence[BotSeen]) -> list[str]:
        """The default bot, then the listed bots most recently seen first, up to `max_bots`."""
        recent = sorted(seen, key=lambda bot: bot.last_seen, reverse=True)
        ids = list(dict.fromkeys([self.keys.bot_id, *(bot.bot_id for bot in recent)]))
        over = frozenset(ids[self.max_bots:])
        if over and over != self._over_cap:
            logger.error("more than %d bots listed: %d not recorded (%s)", self.max_bots, len(over),
                         ", ".join(sorted(over)[:10]))
        self._over_cap = over
        return ids[:self.max_bots]

    def _note(self, bot_ids: list[str]) -> None:
        """The registry's bots in the database (`note_bots`), when they change and once a minute.

        Only listed bots: the default bot is recorded even when unlisted, but noting it would undo
        its retirement at once."""
        now = time.monotonic()
        if frozenset(bot_ids) == self._noted and now - self._noted_at < RENOTE_INTERVAL:
            return
        try:
            created = self.note(bot_ids=bot_ids)
        except Exception as exc:  # noqa: BLE001 - the database is away: recording waits for it itself
            logger.warning("recorder pool could not note the bots in the database: %s: %s", type(exc).__name__, exc)
            close_old_connections()
            return
        if created:
            logger.info("recorder pool noted %d new bot(s)", created)
        self._noted, self._noted_at = frozenset(bot_ids), now

    def _reconcile(self, wanted: list[str], stop: threading.Event) -> None:
        """A thread for each wanted bot (again, if one ended), none for the others."""
        for bot_id in [b for b in self._running if b not in wanted]:
            logger.info("bot %s left the list: its recorder stops", bot_id)
            self._stop([self._running.pop(bot_id)])
        for bot_id in wanted:
            running = self._running.get(bot_id)
            if running is not None and running.thread.is_alive():
                continue
            if running is not None:  # Recorder.run only returns when stopped: something killed it
                logger.error("the recorder of bot %s ended unexpectedly: started again", bot_id)
            if not stop.is_set():
                self._running[bot_id] = self._start(bot_id)

    def _keep_alive(self) -> None:
        """Without the registry: restart the known bots' threads that ended, start or stop none."""
        for bot_id, running in list(self._running.items()):
            if not running.thread.is_alive():
                self._running[bot_id] = self._start(bot_id)

    def _start(self, bot_id: str) -> _Running:
        recorder = Recorder(redis_url=self.redis_url, keys=self.keys.for_bot(bot_id), consumer=self.consumer,
                            **self.recorder_options)
        stop = threading.Event()
        thread = threading.Thread(target=recorder.run, args=(stop,), name=f"recorder-{bot_id}", daemon=True)
        thread.start()
        return _Running(recorder=recorder, stop=stop, thread=thread)

    def _stop(self, running: list[_Running]) -> None:
        """Signal every thread first, then wait for each: they finish their batches in parallel."""
        for one in running:
            one.stop.set()
        for one in running:
            one.thread.join(JOIN_TIMEOUT)
            if one.thread.is_alive():
                logger.error("recorder thread %s did not stop within %.0f s", one.thread.name, JOIN_TIMEOUT)

    def _stop_all(self) -> None:
        self._stop(list(self._running.values()))


def _close(client: redis.Redis | None) -> None:
    if client is not None:
        try:
            client.close()
        except (redis.RedisError, OSError):
            logger.debug("closing a broken Redis client failed", exc_info=True)
