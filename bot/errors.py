"""Exceptions raised by the bot; all derive from BotError."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class BotError(Exception):
    """Root of every error raised by the bot package."""


class ConfigError(BotError):
    """A setting is missing or invalid. Not retryable: the same environment fails again."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.message = f"{setting}: {problem}"
        super().__init__(self.message)


class OrderError(BotError):
    """An order was refused before reaching the market (bad quantity or price)."""


class InsufficientFundsError(BotError):
    """A buy would cost more cash than the portfolio holds."""


class InsufficientPositionError(BotError):
    """A sell is larger than the open position (spot: no short selling)."""
