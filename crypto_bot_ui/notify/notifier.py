"""The notifier process, assembled: an intake per bot, a dispatcher per channel, the presence and
daily-summary watches, the Telegram bot's commands, and a heartbeat for the health check.

Nothing here waits on anything else: a channel that fails backs off alone, a bot's intake rides
out Redis or database outages alone, and the trading bot never waits for any of it (it only
appends to its streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Bot

from bot_api.errors import BotApiError
from bot_api.heartbeat import HEARTBEAT_TTL_MS
from bot_api.keys import RedisKeys
from bot_api.redis_conn import Where, connect
from bot_api.registry import MAX_BOTS, discover
from bot_api.stored import StoredEvents
from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify import leases, services, toasts
from crypto_bot_ui.notify.channels import AppriseSender, Sender, TelegramSender, WebhookSender
from crypto_bot_ui.notify.dispatch import Dispatcher
from crypto_bot_ui.notify.intake import Intake
from crypto_bot_ui.notify.models import BotWatch
from crypto_bot_ui.notify.routing import Routes, apprise_channel, apprise_urls

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 1.0
"""Seconds between two reads of the registry: new bots, and heartbeats lapsing or coming back."""
DAILY_CHECK = 30.0
"""Seconds between two looks at the clock for the daily summaries."""
BEAT_INTERVAL = 1.0
STUCK_AFTER = 60.0
"""Seconds an intake may fail before the notifier reports itself down (the health check fails)."""
PRUNE_INTERVAL = 3600.0
"""Seconds between two clean-ups of old records."""
RENEW_EVERY = 5.0
"""Seconds between two renewals of the Telegram commands' lease (well inside `leases.hold_for()`)."""


def telegram_bot(notify: NotifySettings) -> Bot:
    """A python-telegram-bot `Bot` on the configured Bot API server (a local fake in tests)."""
    base = notify.telegram_api_url.rstrip("/")
    return Bot(notify.telegram_bot_token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")


@dataclass
class Notifier:
    """Everything one notifier process runs, until cancelled."""

    redis_url: Where
    """Redis: a URL, or the master its Sentinels name (`bot_link.redis_target()`)."""
    keys: RedisKeys
    notify: NotifySettings
    intakes: dict[str, Intake] = field(default_factory=dict)
    dispatchers: list[Dispatcher] = field(default_factory=list)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _seen: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the registry was read (and each bot's presence noted)."""
    _presence: dict[str, bool] = field(default_factory=dict)
    """What was last noted of each bot's heartbeat (as the database holds it)."""

    @functools.cached_property
    def routes(self) -> Routes:
        """Where each kind goes (from the settings, read once)."""
        return Routes.of(self.notify)

    async def run(self) -> None:
        """Start every part and run until cancelled; then stop them all."""
        consumer = self.notify.notifier_name
        await database_sync_to_async(services.release_leases)(consumer=consumer)
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=15.0))
            bot = telegram_bot(self.notify) if self.notify.telegram_bot_token else None
            self.dispatchers = [Dispatcher(sender=sender, consumer=consumer) for sender in self._senders(bot, client)]
            tasks = [asyncio.create_task(d.run(), name=f"dispatch {d.sender.name}") for d in self.dispatchers]
            tasks += [asyncio.create_task(self._watch(), name="watch bots"),
                      asyncio.create_task(self._daily(), name="daily summaries"),
                      asyncio.create_task(self._beat(), name="heartbeat"),
                      asyncio.create_task(self._tidy(), name="tidy records")]
            if bot is not None:
                tasks.append(asyncio.create_task(self._answer_telegram(), name="telegram commands"))
            try:
                await asyncio.gather(*tasks)
            finally:
                # Cancelled again until each has ended: on 3.11 a cancel landing in redis-py's socket
                # wait can be lost (bot_api.tasks).
                await cancel_and_wait(*tasks, *self._tasks.values())
                if bot is not None:
                    with contextlib.suppress(Exception):
                        await bot.shutdown()
                with contextlib.suppress(Exception):  # the others take over at once, not once they lapse
                    await database_sync_to_async(_hand_over)(consumer)

    def _senders(self, bot: Bot | None, client: httpx.AsyncClient) -> list[Sender]:
        interval = self.notify.notify_min_interval
        senders: list[Sender] = []
        if bot is not None:
            senders += [TelegramSender(bot, int(chat), min_interval=interval) for chat in self.notify.telegram_chat_ids]
        senders += [AppriseSender(url, apprise_channel(url), index, min_interval=interval)
                    for index, url in enumerate(apprise_urls(self.notify.notify_urls))]
        if self.notify.notify_webhook_url.strip():
            senders.append(WebhookSender(self.notify.notify_webhook_url.strip(), client))
        logger.info("notifier %s sends to: %s", self.notify.notifier_name,
                    ", ".join(s.name for s in senders) or "no channel (only alerts on pages)")
        return senders

    async def _answer_telegram(self) -> None:
        """Answer Telegram's commands while this notifier holds that job: Telegram serves one long
        poll per bot token, so of several notifiers one answers and the others stand by."""
        from crypto_bot_ui.notify.telegram_bot import run_telegram  # PTB's Application: only with a token

        consumer = self.notify.notifier_name
        held = database_sync_to_async(leases.hold)
        while True:
            try:
                if await held(name=leases.TELEGRAM, consumer=consumer):
                    polling = asyncio.create_task(run_telegram(self.notify, self.keys), name="telegram polling")
                    try:
                        while not polling.done():
                            await asyncio.wait({polling}, timeout=RENEW_EVERY)
                            if not polling.done() and not await held(name=leases.TELEGRAM, consumer=consumer):
                                logger.warning("another notifier answers Telegram now")
                                break
                    finally:
                        await cancel_and_wait(polling)
                    if polling.done() and not polling.cancelled() and polling.exception() is not None:
                        logger.error("Telegram commands stopped: %s", polling.exception())
            except Exception:
                logger.exception("notifier could not take or renew the Telegram commands")
            await asyncio.sleep(RENEW_EVERY)

    async def _taken(self, result: services.TakeResult) -> None:
        """After a commit: wake the channels, show fired alerts on their owners' pages."""
        for dispatcher in self.dispatchers:
            dispatcher.wake.set()
        if result.toasts:
            await toasts.send(get_channel_layer(), result.toasts)

    async def _watch(self) -> None:
        """Every second: an intake for each bot in the registry; a notification when a heartbeat
        lapses or comes back."""
        redis: Redis | None = None
        while True:
            try:
                redis = redis or connect(self.redis_url)
                seen = await discover(redis, self.keys)
                for bot in seen[:MAX_BOTS]:
                    self._ensure_intake(bot.bot_id)
                    if self._presence.get(bot.bot_id) == bot.online:
                        continue  # the database is asked only when it may have changed
                    made = await database_sync_to_async(services.note_presence)(
                        bot_id=bot.bot_id, online=bot.online, routes=self.routes, public_url=self.notify.public_url)
                    self._presence[bot.bot_id] = bot.online
                    if made:
                        await self._taken(services.TakeResult(created=made))
                self._seen.set()
            except (BotApiError, RedisError, OSError) as exc:
                logger.warning("notifier cannot read the bot registry: %s", exc)
                redis = None
            except Exception:
                logger.exception("notifier could not note the bots' presence")
            await asyncio.sleep(WATCH_INTERVAL)

    def _ensure_intake(self, bot_id: str) -> None:
        task = self._tasks.get(bot_id)
        if task is not None and not task.done():
            return
        intake = Intake(redis_url=self.redis_url, keys=self.keys.for_bot(bot_id), consumer=self.notify.notifier_name,
                        routes=self.routes, public_url=self.notify.public_url, on_taken=self._taken,
                        claim_idle_ms=self.notify.notifier_claim_idle * 1000)
        self.intakes[bot_id] = intake
        self._tasks[bot_id] = asyncio.create_task(intake.run(), name=f"intake {bot_id}")

    async def _daily(self) -> None:
        """Each bot's summary once a day, at DAILY_SUMMARY_HOUR (or at start-up if that passed unsent)."""
        zone = ZoneInfo(self.notify.daily_summary_tz)
        redis: Redis | None = None
        await self._seen.wait()  # which bots run: the first read of the registry says
        while True:
            now = datetime.now(zone)
            if now.hour >= self.notify.daily_summary_hour:
                try:
                    redis = redis or connect(self.redis_url)
                    made = await self._summaries(redis, now.date().isoformat())
                    if made:
                        await self._taken(services.TakeResult(created=made))
                except (BotApiError, RedisError, OSError) as exc:
                    logger.warning("daily summaries wait for Redis: %s", exc)
                    redis = None
                except Exception:
                    logger.exception("daily summaries could not be written")
            await asyncio.sleep(DAILY_CHECK)

    async def _summaries(self, redis: Redis, day: str) -> int:
        sent = await database_sync_to_async(_sent_on)(day)
        made = 0
        # Only bots running now: a bot offline for days would be sent its stale figures every day.
        for bot_id in [b for b in self.intakes if b not in sent and self._presence.get(b)]:
            stored = await StoredEvents(redis, self.keys.for_bot(bot_id)).snapshot()
            if stored is None:
                continue
            made += await database_sync_to_async(services.note_daily)(
                bot_id=bot_id, status=stored.event, day=day, routes=self.routes, public_url=self.notify.public_url)
        return made

    async def _tidy(self) -> None:
        """At start and every hour: give up deliveries to channels no longer configured, and drop
        records older than `services.RETENTION` (the notifier's tables stay bounded)."""
        while True:
            try:
                expired, pruned = await database_sync_to_async(services.tidy)(
                    channels=[d.sender.name for d in self.dispatchers])
                if expired or pruned:
                    logger.info("notifier tidied: %d deliveries to channels no longer set given up, "
                                "%d old notifications removed", expired, pruned)
            except Exception:
                logger.exception("notifier could not tidy its records")
            await asyncio.sleep(PRUNE_INTERVAL)

    def stuck(self) -> list[str]:
        """The bots whose intake has failed for longer than STUCK_AFTER (the database or Redis is away)."""
        now = time.monotonic()
        return sorted(bot for bot, intake in self.intakes.items()
                      if intake.failing_since is not None and now - intake.failing_since > STUCK_AFTER)

    async def _beat(self) -> None:
        """The heartbeat the health check reads: written only while every bot's events are taken, so
        a notifier that runs but cannot store anything shows as down."""
        redis: Redis | None = None
        while True:
            stuck = self.stuck()
            if stuck:
                logger.error("notifier unhealthy: cannot take the events of %s", ", ".join(stuck[:10]))
                await asyncio.sleep(BEAT_INTERVAL)
                continue
            try:
                redis = redis or connect(self.redis_url)
                await redis.set(self.keys.notifier_heartbeat_key, self.notify.notifier_name, px=HEARTBEAT_TTL_MS)
            except (RedisError, OSError) as exc:
                logger.debug("notifier heartbeat not written: %s", exc)
                redis = None
            await asyncio.sleep(BEAT_INTERVAL)


def _hand_over(consumer: str) -> None:
    """A stopping notifier's jobs and claimed deliveries, free for the others at once."""
    leases.let_go(consumer=consumer)
    services.release_leases(consumer=consumer)


def _sent_on(day: str) -> set[str]:
    return set(BotWatch.objects.filter(daily_sent_on=day).values_list("bot_id", flat=True))
