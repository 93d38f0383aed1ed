"""A socket's mailbox: bounded, in order, one wake-up for everything queued, cancellable."""

from __future__ import annotations

import asyncio

import pytest

from crypto_bot_ui.dashboard.queues import Frame, Mailbox


async def test_the_pump_wakes_once_for_everything_queued_in_order() -> None:
    box = Mailbox(10)
    taken = asyncio.create_task(box.take_all())
    await asyncio.sleep(0)  # the pump waits on an empty box
    frames = [Frame(raw=str(n), seq=n) for n in range(3)]
    for frame in frames:
        box.put_nowait(frame)
    assert await asyncio.wait_for(taken, 5) == frames
    assert box.empty() and box.qsize() == 0


async def test_it_is_bounded_and_get_takes_the_oldest() -> None:
    box = Mailbox(2)
    box.put_nowait("a")
    box.put_nowait("b")
    with pytest.raises(asyncio.QueueFull):
        box.put_nowait("c")
    assert await box.get() == "a"
    assert box.get_nowait() == "b"
    with pytest.raises(asyncio.QueueEmpty):
        box.get_nowait()
    unbounded = Mailbox()
    for n in range(1000):
        unbounded.put_nowait(n)
    assert unbounded.qsize() == 1000


async def test_a_cancelled_wait_leaves_the_box_usable() -> None:
    box = Mailbox(5)
    waiting = asyncio.create_task(box.take_all())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    box.put_nowait("x")  # no stale waiter in the way
    assert await asyncio.wait_for(box.take_all(), 5) == ["x"]
    box.put_nowait("y")
    box.clear()
    assert box.empty()
