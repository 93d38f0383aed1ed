"""`manage.py run_recorder`: store every trade the bot reports (see trades/recorder.py)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from crypto_bot_ui.core.bot_link import bot_keys
from crypto_bot_ui.env import RecorderSettings, load
from crypto_bot_ui.trades.recorder import Recorder


class Command(BaseCommand):
    """Run the recorder until SIGTERM or SIGINT."""

    help = "Consume the bot's trade stream and store every trade."

    def handle(self, *args: Any, **options: Any) -> None:
        """Install signal handlers and run the recorder loop."""
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        consumer = load(RecorderSettings).recorder_name
        recorder = Recorder(redis_url=settings.REDIS_URL, keys=bot_keys(), consumer=consumer)
        recorder.run(stop)
        self.stdout.write(f"recorder stopped: {recorder.stats}")
