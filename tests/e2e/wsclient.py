"""A small WebSocket client helper for reading envelopes until a condition holds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

Frame = dict[str, Any]


async def read_until(
    ws: ClientConnection, predicate: Callable[[Frame], bool], timeout: float, seen: list[Frame] | None = None
) -> Frame:
    """Read frames until one matches; every frame read is appended to `seen`."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            types = [f.get("type") for f in (seen or [])][-20:]
            raise AssertionError(f"no matching frame within {timeout} s; last types: {types}")
        try:
            raw = await asyncio.wait_for(ws.recv(), remaining)
        except TimeoutError:
            continue
        frame = json.loads(raw)
        if seen is not None:
            seen.append(frame)
        if predicate(frame):
            return frame


async def collect_for(ws: ClientConnection, seconds: float) -> list[Frame]:
    """Read every frame that arrives during `seconds`."""
    frames: list[Frame] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), remaining)))
        except TimeoutError:
            break
    return frames


def of_type(kind: str) -> Callable[[Frame], bool]:
    """Predicate: the frame's type is `kind`."""
    return lambda frame: frame.get("type") == kind
