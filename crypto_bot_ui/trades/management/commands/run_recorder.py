"""`manage.py run_recorder`: store every trade of every bot (see trades/recorder_pool.py)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from crypto_bot_ui.core.bot_link import bot_keys, redis_target
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
        own = load(RecorderSettings)
        pool = RecorderPool(redis_url=redis_target(), keys=bot_keys(), consumer=own.recorder_name,
                            recorder_options={"claim_idle_ms": own.recorder_claim_idle * 1000})
        pool.run(stop)
        for bot_id, stats in pool.stats().items():
            self.stdout.write(f"recorder of {bot_id} stopped: {stats}")
