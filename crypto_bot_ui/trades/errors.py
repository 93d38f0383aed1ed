"""The records' errors: one root; each says what went wrong with a stable `code` and a `message` for people."""

from __future__ import annotations


class TradesError(Exception):
    """Root of the records' errors."""


class NoteError(TradesError):
    """A journal note that cannot be written as asked: `code` is stable (`forbidden`, `too_long`,
    `invalid_note`), `message` says why, for its author. Not retryable as is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
