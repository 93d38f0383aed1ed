"""The notifier's errors: one root, each saying whether it is worth trying again."""

from __future__ import annotations


class NotifyError(Exception):
    """Root of the notifier's errors."""


class ChannelError(NotifyError):
    """A channel did not take a message. Retryable: the delivery stays pending and is tried again
    after `retry_after` seconds when the channel said so, else after a jittered backoff; unless
    `permanent` (the channel refused this message for what it is: sending it again cannot help).
    `maybe_sent`: the request may have arrived (a timeout, a connection lost mid-request)."""

    def __init__(self, channel: str, message: str, *, retry_after: float | None = None,
                 permanent: bool = False, maybe_sent: bool = False) -> None:
        self.channel = channel
        self.message = message
        self.retry_after = retry_after
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        super().__init__(f"{channel}: {message}")
