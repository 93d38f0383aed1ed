"""Reading the dashboard socket one envelope at a time, whether frames carry one or an array."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot_api.frames import split_frame


@dataclass
class Envelopes:
    """Envelopes from a socket in order: array frames (batches) are split, as the page does."""

    recv: Callable[[], Awaitable[str | bytes]]
    pending: deque[dict[str, Any]] = field(default_factory=deque)

    async def next(self) -> dict[str, Any]:
        """The next envelope (reads a frame when none is pending)."""
        while not self.pending:
            self.pending.extend(split_frame(await self.recv()))
        return self.pending.popleft()
