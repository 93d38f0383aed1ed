"""RedisSink: transport failures are logged once per outage and never reach the engine."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from bot.engine import BotEvent
from bot.sink import RedisSink
from bot_api.errors import TransportError
from bot_api.events import PriceData, PriceUpdateEvent, StatusEvent
from tests.bot.fakes import AlwaysStrategy, ListSink, engine


class FakePublisher:
    """Records publishes; fails while `down` is set."""

    def __init__(self, stored_seq: int = 0) -> None:
        self.down = False
        self.stored_seq = stored_seq
        self.published: list[tuple[BotEvent, StatusEvent | None]] = []

    async def publish(self, event: BotEvent, *, snapshot: StatusEvent | None = None) -> str:
        if self.down:
            raise TransportError("connection refused")
        self.published.append((event, snapshot))
        return ""

    async def last_seq(self) -> int:
        if self.down:
            raise TransportError("connection refused")
        return self.stored_seq


def price(seq: int) -> tuple[PriceUpdateEvent, StatusEvent]:
    event = PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=Decimal(1)))
    snapshot = engine(AlwaysStrategy(), ListSink()).snapshot().model_copy(update={"seq": seq})
    return event, snapshot


async def test_publishes_event_with_snapshot() -> None:
    publisher = FakePublisher()
    sink = RedisSink(publisher)
    event, snapshot = price(1)
    await sink.emit(event, snapshot)
    assert publisher.published == [(event, snapshot)]
    assert (sink.published, sink.dropped) == (1, 0)


async def test_outage_drops_events_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    publisher = FakePublisher()
    sink = RedisSink(publisher)
    caplog.set_level(logging.DEBUG, logger="bot.sink")
    publisher.down = True
    for seq in range(1, 11):
        await sink.emit(*price(seq))  # must not raise
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "connection refused" in warnings[0].getMessage()
    assert sink.dropped == 10
    publisher.down = False
    await sink.emit(*price(11))
    assert [e.seq for e, _ in publisher.published] == [11]
    recovered = [r for r in caplog.records if r.levelno == logging.WARNING][1:]
    assert len(recovered) == 1
    assert "recovered" in recovered[0].getMessage()
    publisher.down = True
    await sink.emit(*price(12))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3  # a new outage


async def test_resync_holds_back_lower_seqs_until_the_stored_seq_is_known() -> None:
    publisher = FakePublisher(stored_seq=500)
    sink = RedisSink(publisher)
    seen: list[int] = []
    sink.resync_with(seen.append)
    publisher.down = True
    await sink.emit(*price(1))  # Redis still down: dropped, resync still pending
    assert (seen, publisher.published) == ([], [])
    publisher.down = False
    await sink.emit(*price(2))  # would collide with stored seqs: dropped, engine told 500
    assert seen == [500]
    assert publisher.published == []
    await sink.emit(*price(501))
    assert [e.seq for e, _ in publisher.published] == [501]


async def test_resync_publishes_when_the_event_is_already_above_the_stored_seq() -> None:
    publisher = FakePublisher(stored_seq=3)
    sink = RedisSink(publisher)
    seen: list[int] = []
    sink.resync_with(seen.append)
    await sink.emit(*price(4))
    assert seen == []
    assert [e.seq for e, _ in publisher.published] == [4]


async def test_resync_through_the_engine_continues_above_the_stored_seq() -> None:
    publisher = FakePublisher(stored_seq=77)
    sink = RedisSink(publisher)
    eng = engine(AlwaysStrategy(), ListSink())
    eng.sink = sink
    sink.resync_with(eng.set_seq)
    await eng.publish_status()  # seq 1: held back, engine moved to 77
    await eng.publish_status()
    assert [e.seq for e, _ in publisher.published] == [78]
