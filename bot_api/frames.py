"""Frames on the browser socket: one envelope, or a JSON array of envelopes when several queued.

Batching is how one socket keeps up with a fast bot: the server joins the already-encoded
envelopes into one array frame instead of paying a WebSocket send per event. Order inside an
array is the order of events; a client applies the items one by one, exactly as single frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot_api.models import over_bytes

BATCH_MAX = 200
"""Most envelopes in one array frame."""
BATCH_MAX_CHARS = 256 * 1024
"""Most characters in one array frame: well under MAX_SEND_BYTES. One envelope bigger than this
still goes, alone."""
MAX_SEND_BYTES = 1_048_576
"""The web server's message size limit: Uvicorn's ws_max_size (Daphne's
--websocket-max-message-size), which `crypto_bot_ui/serve.py` passes; the relay never sends an
envelope over it either."""


def too_big(raw: str) -> bool:
    """Whether one encoded envelope is over MAX_SEND_BYTES."""
    return over_bytes(raw, MAX_SEND_BYTES)


def join_frames(raws: Sequence[str]) -> Iterator[str]:
    """The frames that carry these encoded envelopes in order: alone if one, else arrays within
    BATCH_MAX envelopes and BATCH_MAX_CHARS characters."""
    chunk: list[str] = []
    size = 0
    for raw in raws:
        if chunk and (len(chunk) == BATCH_MAX or size + len(raw) > BATCH_MAX_CHARS):
            yield _frame(chunk)
            chunk, size = [], 0
        chunk.append(raw)
        size += len(raw) + 1
    if chunk:
        yield _frame(chunk)


def _frame(chunk: list[str]) -> str:
    # Encoded once by the publisher; joining text is the only per-socket work.
    return chunk[0] if len(chunk) == 1 else "[" + ",".join(chunk) + "]"
