"""Array frames: several encoded envelopes joined in order, and split back."""

from __future__ import annotations

from bot_api.frames import BATCH_MAX, BATCH_MAX_CHARS, MAX_SEND_BYTES, join_frames, too_big
from tests.frames import split_frame


def test_one_envelope_goes_alone() -> None:
    assert list(join_frames(['{"seq":1}'])) == ['{"seq":1}']


def test_several_go_as_arrays_in_order_never_longer_than_batch_max() -> None:
    raws = [f'{{"seq":{n}}}' for n in range(1, 2 * BATCH_MAX + 2)]
    frames = list(join_frames(raws))
    # The last chunk holds a single envelope: it goes alone, not as a one-item array.
    assert [len(split_frame(f)) for f in frames] == [BATCH_MAX, BATCH_MAX, 1]
    assert frames[-1] == raws[-1]
    assert [e["seq"] for f in frames for e in split_frame(f)] == list(range(1, 2 * BATCH_MAX + 2))


def test_nothing_to_send_is_no_frame() -> None:
    assert list(join_frames([])) == []


def test_big_envelopes_split_arrays_by_size_and_a_huge_one_goes_alone() -> None:
    big = '{"seq":1,"pad":"' + "x" * (BATCH_MAX_CHARS // 3) + '"}'
    huge = '{"seq":9,"pad":"' + "x" * BATCH_MAX_CHARS + '"}'
    frames = list(join_frames([big, big, big, huge, big]))
    assert all(len(f) <= BATCH_MAX_CHARS for f in frames if f != huge)
    assert [len(split_frame(f)) for f in frames] == [2, 1, 1, 1]
    assert frames[2] == huge


def test_too_big_counts_bytes_not_characters() -> None:
    assert not too_big("x" * MAX_SEND_BYTES)
    assert too_big("x" * (MAX_SEND_BYTES + 1))
    assert too_big("é" * (MAX_SEND_BYTES // 2 + 1))  # two bytes each in UTF-8
    assert not too_big("é" * (MAX_SEND_BYTES // 2))
