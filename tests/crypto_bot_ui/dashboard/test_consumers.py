"""The socket's cursor: snapshot first, then only newer events; a restarted bot's status wins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connections

from bot_api.command_bus import CommandBus
from bot_api.commands import ClosePosition, StopBot
from bot_api.events import Envelope, Side, TradeData, TradeExecutedEvent
from bot_api.frames import BATCH_MAX, MAX_SEND_BYTES
from bot_api.publisher import EventPublisher
from crypto_bot_ui.core import bot_link
from crypto_bot_ui.dashboard.consumers import CLOSE_LAGGED, Cursor, DashboardConsumer
from crypto_bot_ui.dashboard.queues import Frame, Mailbox, Subscription
from crypto_bot_ui.dashboard.relay import get_relay
from crypto_bot_ui.trades.models import BotCommand
from tests.conftest import make_operator
from tests.frames import Envelopes, price, split_frame, status_at

RUN_1 = datetime(2026, 1, 1, tzinfo=UTC)
RUN_2 = datetime(2026, 1, 2, tzinfo=UTC)


def status(seq: int, run: datetime = RUN_1) -> Frame:
    return Frame(raw="", seq=seq, is_status=True, started_at=run)


@pytest.mark.parametrize(
    ("frame", "cursor", "expected"),
    [
        (Frame(raw="", seq=None), Cursor(), True),  # presence before any snapshot
        (Frame(raw="", seq=5), Cursor(), False),  # a bot event before the first snapshot
        (status(5), Cursor(), True),  # the first snapshot
        (Frame(raw="", seq=10), Cursor(10, RUN_1), False),  # already in the snapshot
        (Frame(raw="", seq=9), Cursor(10, RUN_1), False),  # older than the snapshot
        (Frame(raw="", seq=11), Cursor(10, RUN_1), True),  # newer
        (status(10), Cursor(10, RUN_1), False),  # the same snapshot again (a resync)
        (status(8), Cursor(10, RUN_1), False),  # a stale snapshot of the same run
        (status(12), Cursor(10, RUN_1), True),  # a newer snapshot
        (status(1, RUN_2), Cursor(10, RUN_1), True),  # a restarted bot whose numbering restarted
        (Frame(raw="", seq=None), Cursor(10, RUN_1), True),  # web-made frames are never duplicates
    ],
)
def test_cursor_admits(frame: Frame, cursor: Cursor, expected: bool) -> None:
    assert cursor.admits(frame) is expected


def test_cursor_follows_a_restarted_bot() -> None:
    cursor = Cursor()
    for frame in (status(10), Frame(raw="", seq=11), status(2, RUN_2), Frame(raw="", seq=3)):
        assert cursor.admits(frame)
        cursor.advance(frame)
    assert (cursor.seq, cursor.started_at) == (3, RUN_2)


@pytest.fixture
def recording() -> tuple[DashboardConsumer, list[str]]:
    """A consumer whose sends are recorded instead of going to a socket."""
    consumer = DashboardConsumer()
    sent: list[str] = []

    async def fake_send(message: dict[str, Any]) -> None:  # the server's send
        if message["type"] != "websocket.send":
            return
        text_data = message.get("text")
        sent.append(text_data or "")

    consumer.base_send = fake_send
    return consumer, sent


async def test_every_bot_frame_sent_counts_until_acknowledged(
    recording: tuple[DashboardConsumer, list[str]],
) -> None:
    consumer, sent = recording
    cursor = Cursor()
    # A restarted bot keeps its numbering: the first snapshot a socket sees may be seq 10,000.
    await consumer._send_new(cursor, status(10_000))
    await consumer._send_new(cursor, Frame(raw="p", seq=10_001), Frame(raw="p", seq=10_002))
    assert (consumer.window.unacked_events, consumer.window.unacked_bytes) == (3, 2)
    assert sent == ["", "[p,p]"]  # two at once: one array frame
    # An ack inside a batch frees only what went before it (never more than it covers).
    assert consumer.window.ack(10_001) and consumer.window.unacked_events == 2
    assert consumer.window.ack(10_002) and consumer.window.unacked_events == 0


async def test_an_ack_beyond_what_was_sent_is_refused_and_the_cap_stands(
    recording: tuple[DashboardConsumer, list[str]],
) -> None:
    """A client cannot ack events it was never sent: that would open the window of a socket
    that stopped reading (found by an attack run: `ack` of 2**53, then never read)."""
    consumer, sent = recording
    cursor = Cursor()
    await consumer._send_new(cursor, status(100), Frame(raw="p", seq=101), Frame(raw="p", seq=102))
    await consumer.receive(text_data='{"command": "ack", "seq": 9007199254740992}')
    assert '"code":"invalid_frame"' in sent[-1]  # above any seq the contract admits (2**53 - 1)
    await consumer.receive(text_data='{"command": "ack", "seq": 9007199254740991}')
    assert consumer.window.acked == 0 and consumer.window.unacked_events == 3
    assert '"code":"invalid_ack"' in sent[-1] and "the last event sent was 102" in sent[-1]
    await consumer.receive(text_data='{"command": "ack", "seq": 102}')
    assert consumer.window.acked == 102 and consumer.window.unacked_events == 0


async def test_a_frame_the_server_refuses_closes_the_socket_for_a_resume() -> None:
    """Daphne refuses a message over its size limit (a RuntimeError): the client must not be left
    with a silent hole in its stream, so the socket closes with 4008 and the client resumes."""
    consumer = DashboardConsumer()
    messages: list[dict[str, Any]] = []

    async def base_send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            raise RuntimeError("tried to send WebSocket message with size 2000000 exceeding payload limit")
        messages.append(message)

    consumer.base_send = base_send
    await consumer.send(text_data="x" * 2_000_000)
    await consumer.send(text_data="next")  # the socket is closing: nothing more, no second close
    assert messages == [{"type": "websocket.close", "code": CLOSE_LAGGED}]


async def test_a_socket_gone_under_the_pump_closes_once() -> None:
    """Uvicorn raises ClientDisconnected (an OSError) for a frame to a socket already gone."""
    consumer = DashboardConsumer()
    messages: list[dict[str, Any]] = []

    async def base_send(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "websocket.send":
            raise ConnectionResetError("the client went away")

    consumer.base_send = base_send
    await consumer.send_text("a frame")
    await consumer.send_text("another")  # nothing more is tried
    assert [m["type"] for m in messages] == ["websocket.send", "websocket.close"]
    assert consumer.send_failed


async def test_an_envelope_over_the_frame_limit_is_skipped_not_looped_on() -> None:
    """One envelope the server could never send: closing for a resume would meet it again, forever."""
    consumer = DashboardConsumer()
    sent: list[str] = []

    async def fake_send(message: dict[str, Any]) -> None:  # the server's send
        if message["type"] != "websocket.send":
            return
        text_data = message.get("text")
        sent.append(text_data or "")

    consumer.base_send = fake_send
    huge = '{"seq":2,"pad":"' + "x" * MAX_SEND_BYTES + '"}'
    cursor = Cursor(seq=1, started_at=RUN_1)
    await consumer._send_new(cursor, Frame(raw='{"seq":2}', seq=2), Frame(raw=huge, seq=3),
                             Frame(raw='{"seq":4}', seq=4))
    assert sent == ['[{"seq":2},{"seq":4}]'] and cursor.seq == 4


def queued_frame(seq: int, symbol: str | None = "BTCUSDT") -> Frame:
    """A price of `symbol` (None: a trade, never conflated) as a tiny JSON envelope."""
    return Frame(raw=f'{{"seq":{seq}}}', seq=seq, supersedes=None if symbol is None else ("price_update", symbol))


@pytest.mark.parametrize(
    ("queued", "expected"),
    [
        # A few queued: all of them, in one array frame, in order.
        ([queued_frame(n) for n in range(1, 11)], [list(range(1, 11))]),
        # More than CONFLATE_ABOVE queued: the socket is behind; only the newest price per symbol
        # is left, each trade stays, order kept.
        ([*(queued_frame(n) for n in range(1, 31)), queued_frame(31, None),
          *(queued_frame(n) for n in range(32, 61)), queued_frame(61, "ETHUSDT")], [[31, 60, 61]]),
        # More than one array's worth of trades: several array frames, none lost.
        ([queued_frame(n, None) for n in range(1, BATCH_MAX + 6)],
         [list(range(1, BATCH_MAX + 1)), list(range(BATCH_MAX + 1, BATCH_MAX + 6))]),
    ],
    ids=["batched", "conflated-when-behind", "split-at-batch-max"],
)
async def test_queued_frames_go_out_batched(queued: list[Frame], expected: list[list[int]]) -> None:
    consumer = DashboardConsumer()
    consumer.scope = {"user": "tester"}
    frames: list[list[int]] = []
    done = asyncio.Event()

    async def fake_send(message: dict[str, Any]) -> None:  # the server's send
        if message["type"] != "websocket.send":
            return
        text_data = message.get("text")
        frames.append([envelope["seq"] for envelope in split_frame(text_data or "")])
        if sum(map(len, frames)) >= sum(map(len, expected)):
            done.set()

    consumer.base_send = fake_send
    sub = Subscription(queue=Mailbox())
    for frame in queued:  # all queued before the pump runs: it finds them together
        sub.offer(frame)
    pump = asyncio.create_task(consumer._pump(sub, Cursor(seq=0, started_at=RUN_1), snapshot_first=False, backlog=[]))
    try:
        async with asyncio.timeout(5):
            await done.wait()
    finally:
        pump.cancel()
    assert frames == expected


def trade_or_price(seq: int) -> Envelope:
    """A trade at seq 2 (never conflated), prices otherwise."""
    if seq != 2:
        return price(seq)
    one = Decimal(1)
    trade = TradeData(trade_id="t2", symbol="BTCUSDT", side=Side.BUY, qty=one, price=one, quote_qty=one,
                      fee=Decimal(0), fee_asset="USDT", realized_pnl=Decimal(0), executed_at=RUN_1)
    return TradeExecutedEvent(seq=seq, data=trade)


# Channels closes stale database connections around every message, and an async test that used
# the in-memory SQLite database leaves one that cannot be closed: so this test may touch it too.
@pytest.mark.django_db(transaction=True)
async def test_a_new_socket_gets_the_snapshot_brought_up_to_date(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    """The bot's snapshot trails its events a little: a new socket gets it plus what followed."""
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    publisher = EventPublisher(bot_link.redis_client(), bot_link.bot_keys())
    await publisher.publish(price(1), snapshot=status_at(1))
    for seq in (2, 3, 4):
        await publisher.publish(trade_or_price(seq))
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = await sync_to_async(User.objects.create_user)("tester", password="pw-tester-123")
    try:
        connected, _ = await communicator.connect()
        assert connected
        envelopes = Envelopes(lambda: communicator.receive_from(5))
        frames = [await envelopes.next() for _ in range(3)]
        assert [(f["type"], f["seq"]) for f in frames] == [("status", 1), ("trade_executed", 2), ("price_update", 4)]
        await publisher.publish(price(5))  # then live, nothing twice
        live = await envelopes.next()
        while live["seq"] is None:  # presence, made by the web process
            live = await envelopes.next()
        assert live["seq"] == 5
    finally:
        await communicator.disconnect()
        await get_relay().aclose()
        await sync_to_async(connections.close_all)()


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
async def test_commands_go_to_the_bot_with_their_fields_and_are_audited(
    redis_url: str, redis_prefix: str, settings: Any
) -> None:
    settings.REDIS_URL, settings.REDIS_PREFIX = redis_url, redis_prefix
    user = await sync_to_async(User.objects.create_user)("olga", password="pw-olga-12345")
    await sync_to_async(make_operator)(user)
    keys = bot_link.bot_keys()
    redis = bot_link.redis_client()
    await redis.set(keys.heartbeat_key, "1", px=10_000)  # the bot is alive
    bus = CommandBus(redis, keys)
    cursor = await bus.start_cursor()
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = user
    communicator.scope["client"] = ("10.9.8.7", 50123)
    try:
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"command": "close_position", "id": "k1", "symbol": "ETHUSDT"})
        await communicator.send_json_to({"command": "stop_bot", "id": "k2", "close_positions": True})
        received: list[Any] = []
        async with asyncio.timeout(5):
            while len(received) < 2:
                batch = await bus.receive(cursor, block_ms=200)
                received += batch
                cursor = batch[-1].entry_id if batch else cursor
        close, stop = (r.command for r in received)
        assert close is not None and close.issued_by == "olga"
        assert close.action == ClosePosition(id="k1", symbol="ETHUSDT")
        assert stop is not None and stop.action == StopBot(id="k2", close_positions=True)
        rows = await sync_to_async(lambda: list(BotCommand.objects.order_by("issued_at")))()
        assert [(r.command_id, r.command, r.symbol, r.close_positions, r.username, r.address, r.status)
                for r in rows] == [(close.id, "close_position", "ETHUSDT", False, "olga", "10.9.8.7", "pending"),
                                   (stop.id, "stop_bot", "", True, "olga", "10.9.8.7", "pending")]
    finally:
        await communicator.disconnect()
        await get_relay().aclose()
        await sync_to_async(connections.close_all)()  # PostgreSQL: no session may outlive the test DB
