"""Exceptions raised by the contract package; all derive from BotApiError."""


class BotApiError(Exception):
    """Root of every error raised by bot_api."""


class ContractError(BotApiError):
    """A message does not match the contract. Not retryable: the same bytes fail again."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransportError(BotApiError):
    """Redis could not be reached or answered with an error. Retryable after a backoff."""


class StaleSeqError(BotApiError):
    """Redis already holds `stored` >= the seq being published; nothing was written.

    Not retryable with the same seq: the publisher must continue above `stored`.
    """

    def __init__(self, stored: int, attempted: int) -> None:
        super().__init__(f"seq {attempted} is not above the stored seq {stored}")
        self.stored = stored
        self.attempted = attempted


class SnapshotRequiredError(BotApiError):
    """Redis cannot put the event in context: it holds no snapshot, or lost the events before it.

    Nothing was written. Retryable at once with a fresh snapshot attached to the same event.
    """
