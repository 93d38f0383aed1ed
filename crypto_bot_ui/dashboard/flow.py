"""Flow control for one socket: what it was sent and has not acknowledged, and how fast it may talk.

A browser reads every frame off the network as it comes, however slow its page (and Daphne
buffers whatever a consumer sends, without backpressure): a client that stops applying frames is
visible only through its `ack`s. Every bot event a socket is sent (live or replayed, one path)
is counted here until acknowledged; when the window is full the socket's pump waits for an ack,
and a client that gives none in time is cut off (4008). So the memory one socket can hold in the
server is bounded by the window, whatever it sends: a `resume` never resets the count, and an ack
can only be for what was sent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class Window:
    """Bot events sent on one socket and not yet acknowledged, in events and bytes."""

    max_events: int
    max_bytes: int
    top: int = 0
    """The highest seq sent on this socket: no ack may go beyond it."""
    acked: int = 0
    """The highest seq the client acknowledged."""
    _marks: deque[tuple[int, int, int]] = field(default_factory=deque)
    """(seq, events sent so far, bytes sent so far) at each send not yet acknowledged."""
    _before_restart: int = 0
    """Marks sent before a resume restarted the stream (see `restart`)."""
    _events: int = 0
    _bytes: int = 0
    _released_events: int = 0
    _released_bytes: int = 0
    _waiter: asyncio.Future[None] | None = None
    """While the pump waits for an ack: what an ack that frees something resolves (no Event, with
    its deque, held by every idle socket)."""

    @property
    def unacked_events(self) -> int:
        """Events sent beyond the last ack."""
        return self._events - self._released_events

    @property
    def unacked_bytes(self) -> int:
        """Bytes of events sent beyond the last ack (what the server may still hold for this socket)."""
        return self._bytes - self._released_bytes

    def sent(self, *, seq: int, events: int, nbytes: int) -> None:
        """Count a send of `events` bot events (`nbytes` in all), the last of them `seq`."""
        if events <= 0:
            return
        self.top = max(self.top, seq)
        self._events += events
        self._bytes += nbytes
        if self._marks and self._marks[-1][0] == seq:
            self._marks.pop()  # same seq again (a repeat): one mark is enough
        self._marks.append((seq, self._events, self._bytes))

    def restart(self) -> None:
        """A resume begins a new ordered stream on this socket, whose seqs may be below those sent
        before it (the first snapshot): an ack of the new stream also covers everything before."""
        self._before_restart = len(self._marks)

    def ack(self, seq: int) -> bool:
        """The client applied everything up to `seq`; False (nothing changes) beyond what was sent.

        Only marks at the front up to `seq` are released, so an ack never frees more than it
        covers; after a restart, an ack that covers a mark of the new stream proves (frames arrive
        in order) that everything sent before the restart was read too.
        """
        if seq > self.top:
            return False
        self.acked = max(self.acked, seq)
        if 0 < self._before_restart < len(self._marks) and self._marks[self._before_restart][0] <= seq:
            for _ in range(self._before_restart):
                _seq, self._released_events, self._released_bytes = self._marks.popleft()
            self._before_restart = 0
        released = 0
        while self._marks and self._marks[0][0] <= seq:
            _seq, self._released_events, self._released_bytes = self._marks.popleft()
            released += 1
        if released:
            self._before_restart = max(0, self._before_restart - released)
            # Only an ack that frees something wakes a pump waiting on a full window.
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)
        return True

    def room(self) -> tuple[int, int]:
        """(events, bytes) that may be sent now; (0, 0) when the window is full."""
        events = self.max_events - self.unacked_events
        nbytes = self.max_bytes - self.unacked_bytes
        return (events, nbytes) if events > 0 and nbytes > 0 else (0, 0)

    async def wait_for_ack(self, within: float) -> bool:
        """Wait for an ack that frees something; False if none came `within` seconds."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(within):
                await self._waiter
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True


@dataclass(slots=True)
class InboundLimit:
    """A token bucket over every frame a socket sends (acks, resumes, commands, junk alike)."""

    rate: float
    """Frames per second allowed on average."""
    burst: int
    """Frames allowed at once."""
    _tokens: float = -1.0
    _at: float = 0.0
    _told_at: float = float("-inf")

    def allow(self, now: float) -> bool:
        """Take a token for a frame arriving at `now` (monotonic seconds); False when none is left."""
        if self._tokens < 0:
            self._tokens, self._at = float(self.burst), now
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def should_tell(self, now: float) -> bool:
        """Whether to answer a refused frame (at most once a second: answers must not flood either)."""
        if now - self._told_at >= 1.0:
            self._told_at = now
            return True
        return False


@dataclass
class SocketCounts:
    """Open sockets per user in this web process: a viewer may not open them without end."""

    open: dict[int, int] = field(default_factory=dict)

    def take(self, user_id: int, limit: int) -> bool:
        """Count one more socket for `user_id`; False (nothing counted) when at `limit` already."""
        count = self.open.get(user_id, 0)
        if count >= limit:
            return False
        self.open[user_id] = count + 1
        return True

    def give_back(self, user_id: int) -> None:
        """A socket of `user_id` closed."""
        count = self.open.get(user_id, 0) - 1
        if count > 0:
            self.open[user_id] = count
        else:
            self.open.pop(user_id, None)
