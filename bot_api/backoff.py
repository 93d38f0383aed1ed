"""Exponential backoff with full jitter, shared by every reconnect loop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays growing from `initial` to `maximum`, each drawn uniformly from [initial/2, cap]."""

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    _attempt: int = 0

    def next_delay(self) -> float:
        """Return the next delay in seconds and advance."""
        cap = min(self.maximum, self.initial * (self.factor**self._attempt))
        self._attempt += 1
        return self.rng.uniform(min(self.initial / 2, cap), cap)

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._attempt = 0
