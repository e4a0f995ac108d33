"""TS_2DIFF for ints and the time column (tsfile-format.md §3.2)."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import value_arrays

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import decode, decode_times, encode, encode_times
from pipecore_storage.types import TSDataType, TSEncoding

INT_TYPES = [TSDataType.INT32, TSDataType.INT64, TSDataType.DATE, TSDataType.TIMESTAMP]


def test_spec_example_times() -> None:
    raw = encode_times(np.array([1000, 1001, 1003, 1004]))
    assert raw == bytes.fromhex("00000003 00000001 0000000000000001 00000000000003e8 40")
    np.testing.assert_array_equal(decode_times(raw), [1000, 1001, 1003, 1004])


def test_hexdump_times_of_the_small_plain_file() -> None:
    raw = bytes.fromhex("00000004 00000002 0000000000000001 00000000000003e8 16")
    np.testing.assert_array_equal(decode_times(raw, 5), [1000, 1001, 1003, 1005, 1008])
    assert encode_times(np.array([1000, 1001, 1003, 1005, 1008])) == raw


def _blocks(raw: bytes, long: bool) -> list[tuple[int, int]]:
    pos, out = 0, []
    vsize = 8 if long else 4
    while pos < len(raw):
        n, w = struct.unpack_from(">ii", raw, pos)
        out.append((n, w))
        pos += 8 + 2 * vsize + (n * w + 7) // 8
    assert pos == len(raw)
    return out


def test_block_layout_129_values_per_block() -> None:
    raw = encode(np.arange(300, dtype=np.int32) * 3, TSDataType.INT32, TSEncoding.TS_2DIFF)
    assert [n for n, _ in _blocks(raw, False)] == [128, 128, 41]
    assert all(w == 0 for _, w in _blocks(raw, False))  # constant deltas


def test_single_value_block_edge_case() -> None:
    raw = encode_times(np.arange(130, dtype=np.int64))
    blocks = _blocks(raw, True)
    assert blocks == [(128, 0), (0, 0)]
    tail = raw[-24:]
    assert tail == struct.pack(">iiqq", 0, 0, 2**63 - 1, 129)
    raw32 = encode(np.array([-5], dtype=np.int32), TSDataType.INT32, TSEncoding.TS_2DIFF)
    assert raw32 == struct.pack(">iiii", 0, 0, 2**31 - 1, -5)
    assert decode(raw32, TSDataType.INT32, TSEncoding.TS_2DIFF, 1).tolist() == [-5]


def test_wrapping_deltas_use_full_width() -> None:
    values = np.array([0, 2**31 - 1, 0], dtype=np.int32)  # deltas MAX, MIN+1: range 2**32-2
    raw = encode(values, TSDataType.INT32, TSEncoding.TS_2DIFF)
    assert _blocks(raw, False) == [(2, 32)]
    np.testing.assert_array_equal(decode(raw, TSDataType.INT32, TSEncoding.TS_2DIFF, 3), values)


@pytest.mark.parametrize("data_type", INT_TYPES, ids=lambda t: t.name)
def test_round_trip(data_type: TSDataType) -> None:
    @given(value_arrays(data_type, max_size=700, smooth=True))
    @settings(max_examples=40)
    def check(values: np.ndarray) -> None:
        raw = encode(values, data_type, TSEncoding.TS_2DIFF)
        back = decode(raw, data_type, TSEncoding.TS_2DIFF, values.size)
        assert back.dtype == data_type.numpy_dtype
        np.testing.assert_array_equal(back, values)

    check()


@given(value_arrays(TSDataType.INT64, max_size=700, smooth=True))
@settings(max_examples=60)
def test_times_round_trip_with_and_without_count(times: np.ndarray) -> None:
    raw = encode_times(times)
    np.testing.assert_array_equal(decode_times(raw), times)
    np.testing.assert_array_equal(decode_times(raw, times.size), times)


def test_corrupt_streams() -> None:
    raw = encode_times(np.arange(0, 3000, 7))
    with pytest.raises(CorruptFileError):
        decode_times(raw[:-1])
    with pytest.raises(CorruptFileError):
        decode_times(raw, 10_000)
    bad_width = raw[:4] + struct.pack(">i", 65) + raw[8:]
    with pytest.raises(CorruptFileError, match="bit width 65"):
        decode_times(bad_width)
    huge = struct.pack(">iiqq", 2**31 - 1, 0, 1, 0)
    with pytest.raises(CorruptFileError):
        decode_times(huge)


def _java_blocks(values: list[int], bits: int, block_size: int) -> bytes:
    """Java's DeltaBinaryEncoder, value by value with Python ints (wrapping arithmetic)."""
    mask, out = (1 << bits) - 1, b""
    signed = lambda u: u - (1 << bits) if u >> (bits - 1) else u  # noqa: E731
    fmt = ">iiii" if bits == 32 else ">iiqq"
    for start in range(0, len(values), block_size + 1):
        block = values[start : start + block_size + 1]
        deltas = [signed((b - a) & mask) for a, b in itertools.pairwise(block)]
        low = min(deltas) if deltas else (1 << (bits - 1)) - 1
        adj = [(d - low) & mask for d in deltas]
        width = max(adj, default=0).bit_length()
        body = "".join(format(a, f"0{width}b") for a in adj) if width else ""
        body += "0" * (-len(body) % 8)
        packed = int(body, 2).to_bytes(len(body) // 8, "big") if body else b""
        out += struct.pack(fmt, len(deltas), width, low, block[0]) + packed
    return out


@pytest.mark.parametrize("bits", [32, 64])
def test_bytes_equal_javas_for_any_block_size(bits: int) -> None:
    from pipecore_storage.tsfile.encoding.ts2diff import encode_ts2diff

    data_type = TSDataType.INT32 if bits == 32 else TSDataType.INT64

    @given(value_arrays(data_type, max_size=600, smooth=True), st.integers(1, 300))
    @settings(max_examples=60, deadline=None)
    def check(values: np.ndarray, block_size: int) -> None:
        expected = _java_blocks(values.tolist(), bits, block_size)
        assert encode_ts2diff(values, bits, block_size) == expected
        back = decode(expected, data_type, TSEncoding.TS_2DIFF, values.size)
        np.testing.assert_array_equal(back, values)

    check()
