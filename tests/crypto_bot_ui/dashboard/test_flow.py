"""Per-socket flow control: one bounded path for replays and live frames, whatever a client sends
(an attack run grew Daphne by 800 MiB in 60 s with `resume` every second and no reading)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot_api.events import BotState, PnlData, PriceData, PriceUpdateEvent, StatusData, StatusEvent, encode_event
from bot_api.keys import RedisKeys
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.consumers import CLOSE_LAGGED, INBOUND_BURST, Cursor, DashboardConsumer
from crypto_bot_ui.dashboard.feed import BotFeed
from crypto_bot_ui.dashboard.flow import InboundLimit, Window
from crypto_bot_ui.dashboard.queues import Frame, Mailbox, Subscription
from crypto_bot_ui.dashboard.relay import Relay

REMEMBERED = 300


def _status(seq: int) -> tuple[StatusEvent, str]:
    now = datetime.now(UTC)
    zero = Decimal(0)
    event = StatusEvent(seq=seq, data=StatusData(
        state=BotState.RUNNING, mode="paper", market_data="sim", strategy="test", quote_asset="USDT",
        symbols=["BTCUSDT"], prices={"BTCUSDT": Decimal(100)}, positions=[],
        pnl=PnlData(realized=zero, unrealized=zero, total=zero), cash=Decimal(1000), equity=Decimal(1000),
        trade_count=0, recent_trades=[], started_at=now))
    return event, encode_event(event)


def price_frame(seq: int) -> Frame:
    event = PriceUpdateEvent(seq=seq, data=PriceData(symbol="BTCUSDT", price=Decimal(100 + seq)))
    return Frame.of(event, encode_event(event))


class Socket:
    """A consumer wired to a relay that remembers events 1..REMEMBERED, its output recorded."""

    def __init__(self, relay: BotFeed) -> None:
        self.consumer = DashboardConsumer()
        self.texts: list[str] = []
        self.closed: list[int] = []
        self.sent_any = asyncio.Event()
        consumer = self.consumer
        consumer.scope = {"user": SimpleNamespace(pk=1, get_username=lambda: "mallory")}
        consumer.feed, consumer.bot_id = relay, relay.bot_id
        consumer.relay = Relay(keys=relay.keys, redis_url="redis://unused")
        consumer.sub = Subscription(queue=Mailbox(100))

        async def base_send(message: dict[str, Any]) -> None:  # the server's send
            if message["type"] == "websocket.close":
                self.closed.append(message["code"])
            elif message["type"] == "websocket.send":
                self.texts.append(message["text"])
                self.sent_any.set()

        consumer.base_send = base_send

    def seqs(self) -> list[int]:
        """Bot seqs received, in order (array frames flattened)."""
        out = []
        for text in self.texts:
            parsed = json.loads(text)
            for envelope in parsed if isinstance(parsed, list) else [parsed]:
                if envelope.get("seq") is not None and envelope["type"] != "bot_control":
                    out.append(envelope["seq"])
        return out

    async def say(self, **frame: Any) -> None:
        await self.consumer.receive(text_data=json.dumps(frame))

    async def settle(self) -> None:
        """Let the pump run until it waits (for an ack or the queue)."""
        for _ in range(20):
            await asyncio.sleep(0)


@pytest.fixture
def flow_settings(settings: Any, redis_url: str, redis_prefix: str) -> Iterator[Any]:
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    settings.WS_MAX_UNACKED, settings.WS_MAX_UNACKED_BYTES, settings.WS_ACK_WAIT = 50, 2**20, 1
    bot_link._sync_client.cache_clear()
    yield settings
    bot_link._sync_client.cache_clear()


@pytest.fixture
async def relay(flow_settings: Any) -> AsyncIterator[BotFeed]:
    relay = BotFeed(keys=RedisKeys(prefix=flow_settings.REDIS_PREFIX))
    for seq in range(1, REMEMBERED + 1):
        relay.recent.add(price_frame(seq))
    relay.last_seq, relay.bot_online = REMEMBERED, True
    return relay


# --- the window alone -------------------------------------------------------------------------

def test_an_ack_frees_what_it_covers_and_nothing_beyond_what_was_sent() -> None:
    window = Window(max_events=10, max_bytes=1000)
    window.sent(seq=5, events=5, nbytes=500)
    assert window.room() == (5, 500)
    window.sent(seq=10, events=5, nbytes=500)
    assert window.room() == (0, 0)
    assert not window.ack(11) and window.acked == 0  # never sent: refused, nothing changes
    assert window.ack(7) and window.unacked_events == 5  # the first send only
    assert window.ack(10) and window.room() == (10, 1000)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("sent"), st.integers(1, 500), st.integers(1, 20), st.integers(1, 5000)),
    st.tuples(st.just("ack"), st.integers(0, 600), st.just(0), st.just(0)),
), max_size=60))
def test_the_window_never_frees_more_than_the_acks_cover(ops: list[tuple[str, int, int, int]]) -> None:
    window = Window(max_events=100, max_bytes=10_000)
    sends: list[tuple[int, int, int]] = []
    best = 0
    for kind, seq, events, nbytes in ops:
        if kind == "sent":
            window.sent(seq=seq, events=events, nbytes=nbytes)
            sends.append((seq, events, nbytes))
        else:
            top_before = window.top
            assert window.ack(seq) is (seq <= top_before)
            if seq <= top_before:
                best = max(best, seq)
        covered = sum(e for s, e, _ in sends if s <= best)
        assert window.unacked_events >= 0 and window.unacked_events >= sum(e for _, e, _ in sends) - covered
        assert window.acked <= window.top


def test_the_inbound_limit_allows_a_burst_then_the_rate() -> None:
    limit = InboundLimit(rate=10, burst=5)
    assert [limit.allow(0.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limit.allow(0.1) and not limit.allow(0.1)  # one token back after 0.1 s
    assert limit.should_tell(0.1) and not limit.should_tell(0.5) and limit.should_tell(1.2)


# --- a consumer under attack --------------------------------------------------------------------

async def test_a_replay_goes_out_as_the_acks_allow_and_a_silent_client_is_cut_off(relay: BotFeed) -> None:
    socket = Socket(relay)
    await socket.say(command="resume", last_seq=100, id="r1")
    await socket.settle()
    assert socket.seqs() == list(range(101, 151))  # one window (WS_MAX_UNACKED = 50), no more
    await socket.say(command="ack", seq=150)
    await socket.settle()
    assert socket.seqs()[-1] == 200 and not socket.closed
    # Now silent: cut off after WS_ACK_WAIT (1 s) with the window full, and nothing more is sent.
    async with asyncio.timeout(5):
        while not socket.closed:
            await asyncio.sleep(0.05)
    assert socket.closed == [CLOSE_LAGGED] and socket.seqs()[-1] == 200
    await socket.consumer.release()


async def test_a_resume_never_resets_the_window_and_comes_once_per_socket(relay: BotFeed) -> None:
    socket = Socket(relay)
    await socket.say(command="resume", last_seq=250, id="r1")
    await socket.settle()
    assert socket.consumer.window.unacked_events == 50
    socket.consumer.last_resume = -10.0  # past the once-a-second limit
    await socket.say(command="resume", last_seq=200, id="r2")
    answer = json.loads(socket.texts[-1])
    assert answer["data"]["code"] == "rate_limited" and "one resume per connection" in answer["data"]["message"]
    assert socket.consumer.window.unacked_events == 50  # nothing more was queued or sent
    await socket.say(command="ack", seq=REMEMBERED)
    assert socket.consumer.window.unacked_events == 0
    await socket.consumer.release()


async def test_an_ack_after_a_resume_covers_the_snapshot_sent_before_it(relay: BotFeed) -> None:
    """The first snapshot goes out as the socket opens, often before the page's resume arrives;
    the replay that follows starts below it. The page's ack of the replay must free both."""
    socket = Socket(relay)
    await socket.consumer._send_new(Cursor(), Frame.of(*_status(REMEMBERED)))
    await socket.say(command="resume", last_seq=100, id="r1")
    await socket.settle()
    assert socket.seqs()[-1] == 149  # the window: 50 events, the snapshot one of them...
    await socket.say(command="ack", seq=149)
    await socket.settle()
    assert socket.seqs()[-1] > 149  # ...and the ack of the replay freed the snapshot as well
    await socket.consumer.release()


async def test_a_flood_of_frames_is_dropped_unread_with_one_notice(relay: BotFeed) -> None:
    socket = Socket(relay)
    # Frames answered without a round trip to Redis, so the 500 arrive within the notice's second
    # however busy the machine is (the bucket refills with time).
    for _ in range(500):
        await socket.consumer.receive(text_data='{"command": "no_such_command", "id": "x"}')
    notices = [t for t in socket.texts if '"rate_limited"' in t and "too many frames" in t]
    assert len(notices) == 1
    # At most the burst got through (each answered: unknown_command).
    assert len(socket.texts) - len(notices) <= INBOUND_BURST
    await socket.consumer.release()


frames = st.one_of(
    st.builds(lambda s: {"command": "ack", "seq": s}, st.integers(-5, 2**60)),
    st.builds(lambda s: {"command": "resume", "last_seq": s, "id": "r"}, st.integers(-5, 400)),
    st.builds(lambda s: {"command": "resume", "last_seq": s}, st.integers(0, 400)),
    st.dictionaries(st.sampled_from(["command", "seq", "last_seq", "id"]),
                    st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=4),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(frames, st.booleans()), max_size=25))
async def test_whatever_a_client_sends_its_window_holds(relay: Relay, script: list[tuple[Any, bool]]) -> None:
    """Acks and resumes in any order and value: the socket stays within its window, never acks
    beyond what it was sent, never runs two replays, and never fails."""
    socket = Socket(relay)
    consumer = socket.consumer
    largest = max(len(f.raw) for f in relay.recent.frames)
    try:
        for frame, wait in script:
            consumer.last_resume = -10.0 if wait else consumer.last_resume
            await socket.say(**frame) if isinstance(frame, dict) else None
            if wait:
                await socket.settle()
            window = consumer.window
            assert window.acked <= window.top
            assert window.unacked_events <= 50 + 1 and window.unacked_bytes <= 2**20 + largest
            assert consumer.pump is None or not consumer.pump.done() or socket.closed
    finally:
        await consumer.release()
