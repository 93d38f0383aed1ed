"""What the relay hands to sockets: frames, each socket's bounded queue, and the memory of recent
events that reconnecting sockets are replayed from."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from bot_api.events import Event, StatusEvent

REPLAY_LIMIT = 5_000
"""Most events replayed after a reconnect (from memory or the stream); beyond that a snapshot is sent."""

RECENT_CHARS = 8 * 2**20
"""Most characters of recent events a relay keeps for replays of one bot (statuses are ~15 KB each)."""
RECENT_TOTAL_CHARS = 64 * 2**20
"""Most characters a relay keeps for every watched bot together: with many bots watched, each
keeps a share (at least RECENT_MIN_CHARS), and resumes beyond it read the Redis stream."""
RECENT_MIN_CHARS = 256 * 2**10

REPLAY_CHARS = 4 * 2**20
"""Most characters one replay reads from the Redis stream; a larger one is answered with a snapshot
(a resume from far back must not cost the web process tens of MiB: an attack run repeated them)."""

LAGGED = object()
"""Put in a queue (after clearing it) when its consumer fell too far behind."""


@dataclass(eq=False)
class Frame:
    """An outgoing frame: the JSON text and the bot seq it carries (None for server frames)."""

    raw: str
    seq: int | None
    is_status: bool = False
    started_at: datetime | None = None
    """For a status: when that bot run started (tells a restarted bot from a stale snapshot)."""
    supersedes: tuple[str, str] | None = None
    """(type, key) for an event a newer one of the same pair supersedes (a price: its symbol)."""
    type: str = ""
    """The envelope's type (the relay's summary follows some types; "" for server frames)."""

    @classmethod
    def of(cls, event: Event, raw: str) -> Frame:
        """The frame for a validated event and its exact JSON text."""
        if isinstance(event, StatusEvent):
            return cls(raw=raw, seq=event.seq, is_status=True, started_at=event.data.started_at, type=event.type)
        key = event.supersedes_key()
        return cls(raw=raw, seq=event.seq, supersedes=None if key is None else (event.type, key), type=event.type)


def conflate(frames: list[Frame]) -> list[Frame]:
    """Keep only the newest of each superseded (type, key), e.g. a price per symbol, each at its own
    place (seq order kept). Everything else (trades, state changes, answers) is never dropped.
    """
    newest: dict[tuple[str, str], int] = {}
    for index, frame in enumerate(frames):
        if frame.supersedes is not None:
            newest[frame.supersedes] = index
    return [f for i, f in enumerate(frames) if f.supersedes is None or newest[f.supersedes] == i]


class Mailbox:
    """One socket's bounded queue of frames (one reader: its pump).

    Not an asyncio.Queue: that holds three deques and an Event (~3 KB) for every socket, most of
    them idle. This holds a list, and a future only while its pump waits; `take_all` hands the pump
    everything queued at one wake-up.
    """

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self._items: list[Frame | object] = []
        self._waiter: asyncio.Future[None] | None = None
        self.maxsize = maxsize
        """Most items held (0: no bound)."""

    def qsize(self) -> int:
        """Items queued."""
        return len(self._items)

    def empty(self) -> bool:
        """Whether nothing is queued."""
        return not self._items

    def put_nowait(self, item: Frame | object) -> None:
        """Queue an item; asyncio.QueueFull when `maxsize` are queued."""
        if self.maxsize and len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Frame | object:
        """The oldest item; asyncio.QueueEmpty when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def clear(self) -> None:
        """Drop everything queued."""
        self._items = []

    async def get(self) -> Frame | object:
        """The oldest item, once there is one."""
        await self._wait()
        return self.get_nowait()

    async def take_all(self) -> list[Frame | object]:
        """Every queued item, in order, once there is at least one."""
        await self._wait()
        items, self._items = self._items, []
        return items

    async def _wait(self) -> None:
        assert self._waiter is None, "a mailbox has one reader"  # noqa: S101 - a second would never wake
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


@dataclass(eq=False)
class Subscription:
    """One socket's bounded queue of frames."""

    queue: Mailbox
    dropped: bool = False

    def offer(self, frame: Frame) -> None:
        """Queue a frame; on overflow empty the queue and leave only the LAGGED marker."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped = True
            self.queue.clear()
            self.queue.put_nowait(LAGGED)


@dataclass(eq=False)
class Recent:
    """The last bot events this relay forwarded, consecutive by seq, bounded by count and size.

    New sockets and resumes replay from here instead of each reading and parsing the Redis stream:
    a thousand pages reconnecting to a running process cost no stream read at all.
    """

    frames: deque[Frame] = field(default_factory=deque)
    chars: int = 0
    max_chars: int = RECENT_CHARS

    def add(self, frame: Frame) -> None:
        """Remember a stream event; one that does not follow the last starts the window afresh."""
        if frame.seq is None:
            return
        if self.frames:
            last = self.frames[-1].seq or 0
            if frame.seq <= last:
                return  # a live event a catch-up already brought
            if frame.seq != last + 1:
                self.clear()
        self.frames.append(frame)
        self.chars += len(frame.raw)
        while len(self.frames) > REPLAY_LIMIT or self.chars > self.max_chars:
            self.chars -= len(self.frames.popleft().raw)

    def clear(self) -> None:
        """Forget everything (after a resync: what Redis holds may differ from what was seen)."""
        self.frames.clear()
        self.chars = 0

    def since(self, seq: int) -> list[Frame] | None:
        """Every remembered event after `seq`, or None unless the window covers seq + 1 onwards."""
        if not self.frames:
            return None
        first, last = self.frames[0].seq or 0, self.frames[-1].seq or 0
        if not first - 1 <= seq <= last:
            return None
        return list(itertools.islice(self.frames, seq - first + 1, None))
