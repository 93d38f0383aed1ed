"""The benchmark's own arithmetic: seqs read from frames, losses, duplicates and order counted."""

from __future__ import annotations

from scripts.bench.frames import measure
from scripts.bench.load import seqs_of
from scripts.bench.measure import summarise


def test_seqs_are_cut_from_single_and_array_frames_and_server_frames_have_none() -> None:
    assert seqs_of('{"v":1,"type":"price_update","seq":42,"data":{}}') == [42]
    assert seqs_of('[{"seq":7,"data":{"last_seq":3}},{"seq":8}]') == [7, 8]
    assert seqs_of('{"v":1,"type":"bot_presence","seq":null,"data":{"online":true}}') == []


def test_summary_counts_each_event_once_per_client_and_notices_disorder() -> None:
    ms = 1_000_000
    sent = {10: 0, 11: ms, 12: 2 * ms}
    received = [
        [[1, 0], [10, 5 * ms], [11, 6 * ms], [12, 7 * ms]],  # seq 1: the opening snapshot, not counted
        [[10, 5 * ms], [10, 5 * ms], [12, 9 * ms]],  # one twice, one missing
        [[11, 3 * ms], [10, 4 * ms]],  # out of order, one missing
    ]
    r = summarise("ours", (3, 3, 1.0), sent, received, [90.0], 40.0)
    assert (r.expected, r.delivered, r.duplicates, r.in_order) == (9, 7, 1, False)
    assert r.max_ms == 7.0 and r.per_second == 7.0


def test_a_trade_sends_a_small_fraction_of_the_status() -> None:
    """The real engine's events per execution (its fills and the account after) against the full
    status with a page of recent trades, which used to follow every fill."""
    sizes = measure(trades=60)
    assert sizes.trades >= 60 and sizes.status_bytes > 10_000
    assert sizes.per_trade_bytes * 5 < sizes.status_bytes
    assert sizes.per_trade_before > sizes.status_bytes
