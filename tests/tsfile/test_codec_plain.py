"""PLAIN value streams (tsfile-format.md §3.1)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import value_arrays

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import decode, encode, readable, writable
from pipecore_storage.types import TSDataType, TSEncoding

ALL_TYPES = [t for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)]


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal values, floats compared bit for bit (NaN payloads, -0.0)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))
    else:
        assert a.tolist() == b.tolist()


def test_int32_is_zigzag_varint() -> None:
    raw = encode(np.array([0, 10, 20, 30, 40], dtype=np.int32), TSDataType.INT32, TSEncoding.PLAIN)
    assert raw == bytes.fromhex("00 14 28 3c 50")


def test_fixed_width_types_are_big_endian() -> None:
    assert encode(np.array([1], np.int64), TSDataType.INT64, TSEncoding.PLAIN) == bytes(7) + b"\x01"
    assert encode(np.array([1.0], np.float32), TSDataType.FLOAT, TSEncoding.PLAIN) == bytes.fromhex(
        "3f800000"
    )
    assert encode(np.array([-0.0]), TSDataType.DOUBLE, TSEncoding.PLAIN) == b"\x80" + bytes(7)


def test_booleans_and_text() -> None:
    bools = np.array([True, False, True, False, True])
    assert encode(bools, TSDataType.BOOLEAN, TSEncoding.PLAIN) == bytes.fromhex("0100010001")
    text = np.array(["", "ab", "温"], dtype=object)
    raw = encode(text, TSDataType.TEXT, TSEncoding.PLAIN)
    assert raw == b"\x00\x04ab\x06" + "温".encode()
    back = decode(raw, TSDataType.TEXT, TSEncoding.PLAIN, 3)
    assert back.tolist() == ["", "ab", "温"]
    blob = decode(raw, TSDataType.BLOB, TSEncoding.PLAIN, 3)
    assert blob.tolist() == [b"", b"ab", "温".encode()]


def test_long_text_length_is_a_multi_byte_svar() -> None:
    value = "x" * 300
    raw = encode(np.array([value], dtype=object), TSDataType.STRING, TSEncoding.PLAIN)
    assert raw[:2] == b"\xd8\x04"  # zigzag(300) = 600
    assert decode(raw, TSDataType.STRING, TSEncoding.PLAIN, 1)[0] == value


@pytest.mark.parametrize("data_type", ALL_TYPES, ids=lambda t: t.name)
def test_plain_round_trips_every_type(data_type: TSDataType) -> None:
    assert writable(data_type, TSEncoding.PLAIN) and readable(data_type, TSEncoding.PLAIN)

    @given(value_arrays(data_type))
    @settings(max_examples=40)
    def check(values: np.ndarray) -> None:
        raw = encode(values, data_type, TSEncoding.PLAIN)
        back = decode(raw + b"\x01\x02", data_type, TSEncoding.PLAIN, values.size)
        assert_same(back, values.astype(data_type.numpy_dtype))

    check()


@pytest.mark.parametrize("data_type", ALL_TYPES, ids=lambda t: t.name)
def test_short_plain_streams_are_corrupt(data_type: TSDataType) -> None:
    values = np.array([b"abc" if data_type is TSDataType.BLOB else "abc"] * 3, dtype=object)
    if not data_type.is_binary:
        values = np.arange(3).astype(data_type.numpy_dtype) + 200
    raw = encode(values, data_type, TSEncoding.PLAIN)
    with pytest.raises(CorruptFileError):
        decode(raw[:-1], data_type, TSEncoding.PLAIN, 3)
    with pytest.raises(CorruptFileError):
        decode(raw, data_type, TSEncoding.PLAIN, 4)
