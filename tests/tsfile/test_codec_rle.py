"""RLE bit-packing hybrid: byte-exact against a reference port of Java's RleEncoder state
machine, the int32/int64 run value byte orders, and hand-made streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import value_arrays

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import decode, encode, uvar
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E


def java_rle(values: list[int], bits: int, runs: bool = True) -> bytes:
    """Java IntRleEncoder/LongRleEncoder, value by value (runs=False: the C++ 2.5 encoder)."""
    if not values:
        return uvar(0)  # the bit width is written with the first value
    mask = (1 << bits) - 1
    width = max([1] + [(v & mask).bit_length() for v in values])
    cache = bytearray([width])
    groups: list[bytes] = []
    buffered: list[int] = []
    state = {"repeat": 0, "pre": 0}

    def pack8(vals: list[int]) -> bytes:
        acc = 0
        for v in vals + [0] * (8 - len(vals)):
            acc = (acc << width) | (v & mask)
        return acc.to_bytes(width, "big")

    def end_bitpacked(last: int) -> None:
        if groups:
            cache.extend(bytes(((len(groups) << 1) | 1, last)))
            cache.extend(b"".join(groups))
            groups.clear()

    def write_rle() -> None:
        end_bitpacked(8)
        cache.extend(uvar(state["repeat"] << 1))
        nbytes = (width + 7) // 8
        v = state["pre"] & mask
        cache.extend(
            v.to_bytes(8, "little")[:nbytes] if bits == 32 else v.to_bytes(8, "big")[8 - nbytes :]
        )
        state["repeat"] = 0
        buffered.clear()

    def group() -> None:
        if len(groups) >= 63:
            end_bitpacked(8)
        groups.append(pack8(buffered))
        buffered.clear()
        state["repeat"] = 0

    for v in values:
        if runs and v == state["pre"]:
            state["repeat"] += 1
            if 8 <= state["repeat"] <= 0x7FFF:
                continue
            if state["repeat"] == 0x8000:
                state["repeat"] = 0x7FFF
                write_rle()
                state["repeat"] = 1
        else:
            if state["repeat"] >= 8:
                write_rle()
            state["repeat"] = 1
            state["pre"] = v
        buffered.append(v)
        if len(buffered) == 8:
            group()
    if state["repeat"] >= 8:
        write_rle()
    elif buffered:
        last = len(buffered)
        group()
        end_bitpacked(last)
    else:
        end_bitpacked(8)
    return uvar(len(cache)) + bytes(cache)


@pytest.mark.parametrize("data_type", [T.INT32, T.INT64], ids=lambda t: t.name)
def test_byte_exact_with_the_java_cut(data_type: T) -> None:
    bits = 32 if data_type is T.INT32 else 64

    @given(value_arrays(data_type, max_size=600, smooth=True))
    @settings(max_examples=60)
    def check(values: np.ndarray) -> None:
        ours = encode(values, data_type, E.RLE)
        plain = values.tolist()
        width = max([1] + [(v & ((1 << bits) - 1)).bit_length() for v in plain])
        # int64 repeat runs only where their value bytes read the same in Java and C++
        expected = java_rle(plain, bits, runs=bits == 32 or width <= 8)
        assert ours == expected
        np.testing.assert_array_equal(decode(ours, data_type, E.RLE, values.size), values)

    check()


def test_java_cut_examples() -> None:
    eight = encode(np.full(8, 5, np.int32), T.INT32, E.RLE)
    assert eight == bytes.fromhex("03 03 10 05")  # len 3, width 3, run of 8 x 5
    seven = encode(np.full(7, 5, np.int32), T.INT32, E.RLE)
    assert seven[2:4] == bytes.fromhex("03 07")  # one bit-packed group, 7 valid
    long_run = encode(np.full(0x7FFF + 20, 1, np.int32), T.INT32, E.RLE)
    assert long_run[1:] == bytes.fromhex("01 feff03 01 28 01")  # 0x7FFF then 20
    booleans = encode(np.array([True] * 10 + [False, True]), T.BOOLEAN, E.RLE)
    assert decode(booleans, T.BOOLEAN, E.RLE, 12).tolist() == [True] * 10 + [False, True]
    assert encode(np.zeros(0, np.int32), T.INT32, E.RLE) == b"\x00"


def test_run_value_byte_orders() -> None:
    # hand-made Java streams: width 16, a run of 8 x 0x0102
    int32 = bytes.fromhex("04 10 10 0201")  # little-endian value
    assert decode(int32, T.INT32, E.RLE, 8).tolist() == [0x0102] * 8
    int64 = bytes.fromhex("04 10 10 0102")  # big-endian value
    assert decode(int64, T.INT64, E.RLE, 8).tolist() == [0x0102] * 8
    # we never write multi-byte int64 runs (the C++ reader takes them little-endian)
    ours = encode(np.full(20, 0x0102, np.int64), T.INT64, E.RLE)
    assert ours[2] & 1 == 1  # bit-packed


def test_multiple_blocks_and_cpp_empty_page() -> None:
    a = encode(np.arange(10, dtype=np.int32), T.INT32, E.RLE)
    b = encode(np.arange(5, dtype=np.int32) - 7, T.INT32, E.RLE)
    both = decode(a + b, T.INT32, E.RLE, 15)
    assert both.tolist() == list(range(10)) + list(range(-7, -2))


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # nothing
        b"\x05\x00\x10\x05",  # width 0
        b"\x05\x21\x10\x05",  # width 33 for int32
        b"\x04\x03\x11\x08\x00",  # 8 groups announced, 1 byte present
        b"\x03\x03\x00\x05",  # repeat run of 0
        b"\x05\x03\x03\x09" + b"\x00" * 3,  # last group count 9
        b"\x09\x03\x10",  # block longer than the stream
    ],
)
def test_corrupt_streams(raw: bytes) -> None:
    with pytest.raises(CorruptFileError):
        decode(raw, T.INT32, E.RLE, 8)
