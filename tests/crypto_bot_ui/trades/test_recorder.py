"""The recorder against a real Redis and the test database: every trade stored exactly once."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.db import IntegrityError, OperationalError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot_api.events import (
    DURABLE_MODELS,
    BotControlEvent,
    CommandResultData,
    EquityData,
    EquitySnapshotEvent,
    PnlData,
    Side,
    TradeData,
    TradeExecutedEvent,
)
from bot_api.keys import RedisKeys
from crypto_bot_ui.trades.models import BotCommand, DeadLetter, EquitySnapshot, Trade
from crypto_bot_ui.trades.recorder import Recorder
from crypto_bot_ui.trades.services import record_command, record_trades
from tests.stack import wait_for

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]


def trade_event(seq: int, trade_id: str | None = None) -> TradeExecutedEvent:
    return TradeExecutedEvent(
        seq=seq,
        data=TradeData(
            trade_id=trade_id or uuid.uuid4().hex, symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.015"),
            price=Decimal("65000.5"), quote_qty=Decimal("975.0075"), fee=Decimal("0.97500750"),
            fee_asset="USDT", realized_pnl=Decimal("-0.9750075"), executed_at=datetime.now(UTC),
        ),
    )


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(prefix=redis_prefix)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def add(client: redis.Redis, keys: RedisKeys, event: TradeExecutedEvent | str) -> None:
    payload = event if isinstance(event, str) else event.model_dump_json()
    client.xadd(keys.trades_stream, {"e": payload})


class Running:
    """A recorder in a thread, stopped on exit."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.stop = threading.Event()
        self.thread = threading.Thread(target=recorder.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self.recorder

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def pending(client: redis.Redis, keys: RedisKeys) -> int:
    return int(client.xpending(keys.trades_stream, keys.recorder_group)["pending"])


def test_stores_each_trade_once_and_acks_after_commit(client: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    events = [trade_event(i) for i in range(1, 4)]
    for event in events:
        add(client, keys, event)
    add(client, keys, events[0])  # a duplicate delivery
    add(client, keys, "not json")  # poison entry: buried, acknowledged, never blocks the stream
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r1", block_ms=100)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 3 and recorder.stats.dead == 1, 10, "three trades stored")
        wait_for(lambda: pending(client, keys) == 0, 5, "all entries acknowledged")
    stored = Trade.objects.filter(bot_id="main")
    assert sorted(stored.values_list("trade_id", flat=True)) == sorted(e.data.trade_id for e in events)
    row = stored.get(trade_id=events[0].data.trade_id)
    assert row.qty == Decimal("0.015") and row.fee == Decimal("0.97500750") and row.seq == 1
    assert recorder.stats.duplicates == 1


def test_trades_published_before_any_recorder_ran_are_stored(
    client: redis.Redis, keys: RedisKeys, redis_url: str
) -> None:
    early = trade_event(1)
    add(client, keys, early)  # the web/recorder side was down: the stream keeps it
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="late", block_ms=100)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 1, 10, "the early trade")
    assert Trade.objects.filter(trade_id=early.data.trade_id).exists()


def test_database_failure_leaves_entries_pending_until_stored(
    client: redis.Redis, keys: RedisKeys, redis_url: str
) -> None:
    calls = {"n": 0}

    def flaky_store(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("disk I/O error")  # the database, not the row: retried
        return record_trades(**kwargs)

    event = trade_event(1)
    add(client, keys, event)
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r-flaky", block_ms=100, store=flaky_store)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 1, 15, "the trade after the database came back")
    assert calls["n"] >= 2
    assert pending(client, keys) == 0
    assert Trade.objects.filter(trade_id=event.data.trade_id).count() == 1


def test_entries_of_a_dead_recorder_are_claimed(client: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    event = trade_event(1)
    add(client, keys, event)
    client.xgroup_create(keys.trades_stream, keys.recorder_group, id="0", mkstream=True)
    # A recorder read the entry, then died before storing and acknowledging it.
    client.xreadgroup(keys.recorder_group, "dead", {keys.trades_stream: ">"}, count=10)
    assert pending(client, keys) == 1
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="heir", block_ms=100, claim_idle_ms=50)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 1, 10, "the abandoned trade")
        wait_for(lambda: pending(client, keys) == 0, 5, "the claimed entry acknowledged")
    assert Trade.objects.filter(trade_id=event.data.trade_id).count() == 1


def test_record_trades_is_idempotent() -> None:
    event = trade_event(5)
    assert record_trades(events=[event, event]).created == 1
    assert record_trades(events=[event]).created == 0
    assert Trade.objects.count() == 1


@pytest.mark.parametrize("refusal", [IntegrityError("CHECK constraint failed"), OverflowError("int too big"),
                                     ValueError("A string literal cannot contain NUL (0x00) characters.")])
def test_a_row_the_database_refuses_is_buried_without_blocking_the_rest(
    client: redis.Redis, keys: RedisKeys, redis_url: str, refusal: Exception
) -> None:
    """Whatever the driver raises about a row (not only Django's errors: an OverflowError stopped
    the whole stack on every start in an attack run), the row goes to the dead letters."""
    good, bad, later = trade_event(1), trade_event(2, trade_id="refused"), trade_event(3)

    def picky_store(**kwargs: Any) -> Any:
        if any(e.data.trade_id == "refused" for e in kwargs["events"]):
            raise refusal
        return record_trades(**kwargs)

    for event in (good, bad, later):
        add(client, keys, event)
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r-picky", block_ms=100, store=picky_store)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 2, 10, "the two storable trades")
        wait_for(lambda: pending(client, keys) == 0, 5, "every entry acknowledged")
    assert recorder.stats.dead == 1
    assert set(Trade.objects.values_list("trade_id", flat=True)) == {good.data.trade_id, later.data.trade_id}
    [(_id, fields)] = client.xrange(keys.dead_letter_stream)
    assert type(refusal).__name__ in fields[b"reason"].decode() and b'"refused"' in fields[b"e"]
    letter = DeadLetter.objects.get()
    assert letter.entry_id == fields[b"id"].decode() and letter.reason == fields[b"reason"].decode()


def test_a_poison_entry_is_buried_once_and_later_trades_flow(
    client: redis.Redis, keys: RedisKeys, redis_url: str
) -> None:
    """A valid-looking trade with seq 2**63 (beyond any BIGINT) is off-contract: dead letter."""
    poison = trade_event(1).model_dump_json().replace('"seq":1,', f'"seq":{2**63},')
    later = trade_event(2)
    add(client, keys, poison)
    add(client, keys, later)
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r-poison", block_ms=100)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 1 and pending(client, keys) == 0, 10, "the later trade")
    with Running(Recorder(redis_url=redis_url, keys=keys, consumer="r-poison", block_ms=100)) as again:
        wait_for(lambda: again.stats.batches == 0 or pending(client, keys) == 0, 5, "a clean restart")
    assert again.stats.dead == 0  # acknowledged: a restart does not meet it again
    [(_id, fields)] = client.xrange(keys.dead_letter_stream)
    assert fields[b"e"].decode() == poison and b"off-contract" in fields[b"reason"]
    assert DeadLetter.objects.count() == 1 and Trade.objects.get().trade_id == later.data.trade_id


def test_equity_points_are_stored_once(client: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    point = EquitySnapshotEvent(
        seq=7,
        data=EquityData(
            equity=Decimal("10012.5"), cash=Decimal("9000"),
            pnl=PnlData(realized=Decimal("2.5"), unrealized=Decimal("10"), total=Decimal("12.5")),
        ),
    )
    add(client, keys, point.model_dump_json())
    add(client, keys, point.model_dump_json())  # delivered twice
    add(client, keys, trade_event(8))
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r-eq", block_ms=100)
    with Running(recorder):
        wait_for(lambda: recorder.stats.stored == 1 and recorder.stats.equity == 2, 10, "the point and the trade")
        wait_for(lambda: pending(client, keys) == 0, 5, "all acknowledged")
    row = EquitySnapshot.objects.get()
    assert (row.seq, row.equity, row.total_pnl) == (7, Decimal("10012.5"), Decimal("12.5"))


def test_command_outcomes_complete_the_audit_log(client: redis.Redis, keys: RedisKeys, redis_url: str) -> None:
    record_command(bot_id="main", command_id="c-7", command="close_position", user_id=None, username="olga",
                   address="10.1.2.3", issued_at=datetime.now(UTC), symbol="BTCUSDT")
    ours = CommandResultData(id="c-7", command="close_position", ok=True, detail="sold 0.5 BTCUSDT")
    theirs = CommandResultData(id="c-8", command="stop_bot", ok=False, error="expired")  # sent from elsewhere
    for seq, result in ((9, ours), (10, theirs)):
        add(client, keys, BotControlEvent(seq=seq, data=result).model_dump_json())
    recorder = Recorder(redis_url=redis_url, keys=keys, consumer="r-cmd", block_ms=100)
    with Running(recorder):
        wait_for(lambda: recorder.stats.commands == 2, 10, "both outcomes")
    done = BotCommand.objects.get(command_id="c-7")
    assert (done.username, done.address, done.status, done.detail) == ("olga", "10.1.2.3", "ok", "sold 0.5 BTCUSDT")
    assert done.answered_at is not None
    other = BotCommand.objects.get(command_id="c-8")
    assert (other.command, other.status, other.error, other.username) == ("stop_bot", "error", "expired", "")


def _mutations() -> st.SearchStrategy[dict[bytes, bytes]]:
    """Stream entries as anyone with Redis access could write them: valid trades, mutated ones, junk."""
    valid = st.builds(lambda n: trade_event(n % 1000 + 1).model_dump_json(), st.integers(0, 10**6))

    def mutate(text: str, key: str, value: object) -> str:
        doc = json.loads(text)
        target = doc["data"] if key in doc["data"] else doc
        target[key] = value
        return json.dumps(doc)

    keys = st.sampled_from(["seq", "bot", "type", "qty", "price", "fee", "trade_id", "executed_at", "realized_pnl"])
    values = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=30), st.none(), st.floats(allow_nan=True),
                       st.sampled_from(["1E+40", "-1E+40", "NaN", "Infinity", "0", "x" * 100, "\x00"]))
    payload = st.one_of(valid, st.builds(mutate, valid, keys, values), st.text(max_size=50))
    return st.one_of(
        st.builds(lambda p: {b"e": p.encode("utf-8", "surrogatepass")}, payload),
        st.dictionaries(st.binary(max_size=4), st.binary(max_size=40), min_size=1, max_size=3),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_mutations(), min_size=1, max_size=12))
def test_whatever_is_on_the_trades_stream_every_entry_is_stored_or_buried(
    client: redis.Redis, redis_url: str, entries: list[dict[bytes, bytes]]
) -> None:
    """The consumer-group reader, fuzzed: no entry stops it or stays pending; each one is a stored
    (or already stored) record, or a dead letter with a reason."""
    keys = RedisKeys(prefix=f"test-fuzz-{uuid.uuid4().hex[:8]}")
    try:
        for fields in entries:
            client.xadd(keys.trades_stream, fields)  # type: ignore[arg-type]
        recorder = Recorder(redis_url=redis_url, keys=keys, consumer="fuzz")
        recorder._ensure_group(client)
        recorder._drain(client, ">")
        assert pending(client, keys) == 0
        handled = recorder.stats.stored + recorder.stats.duplicates + recorder.stats.equity + recorder.stats.dead
        assert handled == len(entries)
        assert client.xlen(keys.dead_letter_stream) == recorder.stats.dead
    finally:
        client.delete(keys.trades_stream, keys.dead_letter_stream, keys.recorded_seq_key)


def test_the_recorder_stores_every_kind_of_record_the_contract_declares() -> None:
    recorder = Recorder(redis_url="redis://unused", keys=RedisKeys(prefix="x", bot_id="main"), consumer="c")
    assert set(recorder.stores()) == set(DURABLE_MODELS)
