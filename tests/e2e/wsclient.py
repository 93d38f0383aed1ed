"""A small WebSocket client helper for reading envelopes until a condition holds.

Array frames (the server's batches) are split; what a call did not consume stays pending for
the next call on the same socket, so no envelope is skipped between reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from websockets.asyncio.client import ClientConnection

from tests.frames import Envelopes

Frame = dict[str, Any]

_readers: WeakKeyDictionary[ClientConnection, Envelopes] = WeakKeyDictionary()


def envelopes(ws: ClientConnection) -> Envelopes:
    """The envelope reader of a socket (one per socket, keeping what was read but not consumed)."""
    reader = _readers.get(ws)
    if reader is None:
        reader = _readers[ws] = Envelopes(ws.recv)
    return reader


async def read_until(
    ws: ClientConnection, predicate: Callable[[Frame], bool], timeout: float, seen: list[Frame] | None = None
) -> Frame:
    """Read envelopes until one matches; every envelope read is appended to `seen`."""
    reader = envelopes(ws)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            types = [f.get("type") for f in (seen or [])][-20:]
            raise AssertionError(f"no matching frame within {timeout} s; last types: {types}")
        try:
            frame = await asyncio.wait_for(reader.next(), remaining)
        except TimeoutError:
            continue
        if seen is not None:
            seen.append(frame)
        if predicate(frame):
            return frame


async def collect_for(ws: ClientConnection, seconds: float) -> list[Frame]:
    """Read every envelope that arrives during `seconds`."""
    reader = envelopes(ws)
    frames: list[Frame] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            frames.append(await asyncio.wait_for(reader.next(), remaining))
        except TimeoutError:
            break
    return frames



def of_type(kind: str) -> Callable[[Frame], bool]:
    """Predicate: the frame's type is `kind`."""
    return lambda frame: frame.get("type") == kind
