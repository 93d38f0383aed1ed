"""The relay's per-socket queue: bounded, and a lagging socket is cut off rather than grown."""

from __future__ import annotations

import asyncio

from crypto_bot_ui.dashboard.relay import LAGGED, Frame, Subscription


def test_overflow_drops_the_backlog_and_leaves_only_the_lagged_marker() -> None:
    sub = Subscription(queue=asyncio.Queue(maxsize=2))
    sub.offer(Frame(raw="a", seq=1))
    sub.offer(Frame(raw="b", seq=2))
    assert not sub.dropped
    sub.offer(Frame(raw="c", seq=3))
    assert sub.dropped
    assert sub.queue.qsize() == 1 and sub.queue.get_nowait() is LAGGED
    sub.offer(Frame(raw="d", seq=4))  # nothing more is queued for a dropped socket
    assert sub.queue.empty()


def test_frames_keep_their_order_within_the_bound() -> None:
    sub = Subscription(queue=asyncio.Queue(maxsize=10))
    for seq in range(1, 6):
        sub.offer(Frame(raw=str(seq), seq=seq))
    got = [sub.queue.get_nowait() for _ in range(5)]
    assert [f.seq for f in got if isinstance(f, Frame)] == [1, 2, 3, 4, 5]
