"""`manage.py run_recorder`: store every trade of every bot (see trades/recorder_pool.py)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from crypto_bot_ui.core.bot_link import bot_keys
from crypto_bot_ui.env import RecorderSettings, load
from crypto_bot_ui.trades.recorder_pool import RecorderPool


class Command(BaseCommand):
    """Run the recorders until SIGTERM or SIGINT."""

    help = "Consume every bot's trade stream and store every trade."

    def handle(self, *args: Any, **options: Any) -> None:
        """Install signal handlers and run the recorder pool."""
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        consumer = load(RecorderSettings).recorder_name
        pool = RecorderPool(redis_url=settings.REDIS_URL, keys=bot_keys(), consumer=consumer)
        pool.run(stop)
        for bot_id, stats in pool.stats().items():
            self.stdout.write(f"recorder of {bot_id} stopped: {stats}")
