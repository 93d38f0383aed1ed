"""`manage.py run_notifier`: tell people what the bots do (see crypto_bot_ui/notify/notifier.py)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from bot_api.tasks import cancel_and_wait
from crypto_bot_ui.core.bot_link import bot_keys, redis_target
from crypto_bot_ui.notify.notifier import Notifier


class Command(BaseCommand):
    """Run the notifier until SIGTERM or SIGINT."""

    help = "Send every bot's trades, state changes and users' alerts to Telegram, Apprise URLs and a webhook."

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the notifier's event loop; a signal cancels it cleanly."""
        asyncio.run(_main())


async def _main() -> None:
    notifier = Notifier(redis_url=redis_target(), keys=bot_keys(), notify=settings.NOTIFY)
    task = asyncio.create_task(notifier.run())
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        # Cancelled until it has ended (a single cancel can be lost on 3.11: bot_api.tasks).
        if not stopping:
            stopping.append(asyncio.create_task(cancel_and_wait(task)))

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    with contextlib.suppress(asyncio.CancelledError):
        await task
