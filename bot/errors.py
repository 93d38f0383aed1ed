"""Exceptions raised by the bot; all derive from BotError."""

from __future__ import annotations


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


class InsufficientPositionError(BotError):
    """A sell is larger than the open position (spot: no short selling)."""


class ExchangeError(BotError):
    """An exchange call failed; the subclass says whether retrying can help."""


class ExchangeUnavailableError(ExchangeError):
    """The exchange did not answer usefully (timeout, connection, 5xx). Retryable after a backoff."""


class ExchangeOfflineError(ExchangeUnavailableError):
    """The circuit breaker is open. Retryable once it half-opens.

    `sent` is True when this very call reached the exchange and its failure tripped the breaker
    (an order's outcome is then unknown); False when nothing was sent.
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class RateLimitedError(ExchangeUnavailableError):
    """The exchange said 429/418; `retry_after` seconds must pass first. Retryable after that."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExchangeRejectedError(ExchangeError):
    """The exchange refused the request (4xx: bad symbol, insufficient balance...). Not retryable."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class OrderStatusUnknownError(ExchangeError):
    """An order may or may not have executed and could not be confirmed. Not retryable blindly:
    look the order up by its client id first."""
