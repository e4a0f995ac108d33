"""Laws of the window digests (pipecore.digest) and of their wire form (type 29001)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore.digest import WindowDigests, compare, point_hashes, window_digests
from pipecore_storage.types import TSDataType
from pipecore_thrift_sink.protocol import PipeProtocolError
from pipecore_thrift_sink.verify import (
    decode_digest_request,
    decode_digests,
    encode_digests,
)

times_st = st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=200, unique=True)


def digests(times, values, data_type=TSDataType.INT64, granularity=1000) -> WindowDigests:
    order = np.argsort(times)
    t = np.asarray(times, np.int64)[order]
    v = (
        np.asarray(values, dtype=data_type.numpy_dtype)[order]
        if data_type != TSDataType.TEXT
        else np.asarray(values, dtype=object)[order]
    )
    return window_digests(t, point_hashes(t, v, data_type), granularity)


@given(times_st, st.randoms())
def test_the_digest_does_not_depend_on_the_order_points_were_written(times, rnd):
    values = [t % 97 for t in times]
    shuffled = list(zip(times, values, strict=True))
    rnd.shuffle(shuffled)
    a = digests(times, values)
    b = digests([t for t, _ in shuffled], [v for _, v in shuffled])
    assert compare({"s": a}, {"s": b}, 1000) == []


@given(times_st, st.data())
def test_one_changed_value_or_one_missing_point_is_found(times, data):
    values = [t % 97 for t in times]
    i = data.draw(st.integers(0, len(times) - 1))
    changed = list(values)
    changed[i] += 1
    rows = compare({"s": digests(times, values)}, {"s": digests(times, changed)}, 1000)
    assert [(r.window_start, r.status) for r in rows] == [((times[i] // 1000) * 1000, "differs")]
    if len(times) > 1:
        rest = times[:i] + times[i + 1 :]
        rows = compare(
            {"s": digests(times, values)}, {"s": digests(rest, values[:i] + values[i + 1 :])}, 1000
        )
        assert len(rows) == 1 and rows[0].status in ("differs", "missing")


def test_int32_and_int64_and_text_padding_do_not_matter():
    t = [1, 2, 3]
    assert (
        compare({"s": digests(t, [1, 2, 3], TSDataType.INT32)}, {"s": digests(t, [1, 2, 3])}, 1000)
        == []
    )
    a = digests(t, ["a", "bb", "c"], TSDataType.TEXT)
    b = digests(t, ["a", "bb", "c"], TSDataType.TEXT)
    longer = digests([1, 2, 3, 5000], ["a", "bb", "c", "a much longer value"], TSDataType.TEXT)
    assert compare({"s": a}, {"s": b}, 1000) == []
    assert [r.status for r in compare({"s": a}, {"s": longer}, 1000)] == ["extra"]


@given(st.dictionaries(st.text(min_size=1, max_size=20), times_st, max_size=5))
def test_the_wire_form_round_trips(series):
    table = {p: digests(t, [x % 7 for x in t]) for p, t in series.items()}
    back = decode_digests(encode_digests(table))
    assert back.keys() == table.keys()
    for p, d in table.items():
        assert np.array_equal(back[p].starts, d.starts)
        assert np.array_equal(back[p].counts, d.counts)
        assert np.array_equal(back[p].hashes, d.hashes)


def test_a_malformed_request_is_refused_with_its_field():
    with pytest.raises(PipeProtocolError, match="start"):
        decode_digest_request(b"\x00\x01")
    zero = (0).to_bytes(8, "big") * 3 + (0).to_bytes(4, "big")
    with pytest.raises(PipeProtocolError, match="granularity"):
        decode_digest_request(zero)
