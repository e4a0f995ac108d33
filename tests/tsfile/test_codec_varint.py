"""uvar / svar varints, single and vectorised (tsfile-format.md §0)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import (
    decode_varints,
    encode_varints,
    read_svar,
    read_uvar,
    svar,
    uvar,
)


def _leb128(u: int) -> bytes:
    out = bytearray()
    while True:
        if u < 0x80:
            out.append(u)
            return bytes(out)
        out.append((u & 0x7F) | 0x80)
        u >>= 7


def test_svar_examples_from_the_spec() -> None:
    assert svar(-1) == b"\x01"
    assert svar(3) == b"\x06"
    assert svar(8) == b"\x10"  # the "root.sg1" length in the §6.2 hexdump
    assert uvar(256) == b"\x80\x02"  # bloom filter bit size in §6.2
    assert read_uvar(b"\x80\x02", 0) == (256, 2)
    assert read_svar(b"\x01\x06", 1) == (3, 2)


@given(st.integers(-(2**31), 2**31 - 1))
@settings(max_examples=300)
def test_single_svar_round_trips(n: int) -> None:
    raw = svar(n)
    assert raw == _leb128(((n << 1) ^ (n >> 31)) & 0xFFFFFFFF)
    assert read_svar(b"\xff" + raw, 1) == (n, 1 + len(raw))


@given(hnp.arrays(np.int32, st.integers(0, 200)))
@settings(max_examples=150)
def test_vectorised_svar_matches_single(values: np.ndarray) -> None:
    raw = encode_varints(values, zigzag=True)
    assert raw == b"".join(svar(int(v)) for v in values)
    back, end = decode_varints(b"\x07" + raw + b"\x00", values.size, 1, zigzag=True)
    assert end == 1 + len(raw)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, values)


@given(hnp.arrays(np.int64, st.integers(0, 200)))
@settings(max_examples=150)
def test_vectorised_64bit_zigzag(values: np.ndarray) -> None:
    raw = encode_varints(values, zigzag=True)
    expected = b"".join(_leb128(((int(v) << 1) ^ (int(v) >> 63)) & (2**64 - 1)) for v in values)
    assert raw == expected
    back, end = decode_varints(raw, values.size, zigzag=True, bits=64)
    assert end == len(raw)
    np.testing.assert_array_equal(back, values)


@given(hnp.arrays(np.uint32, st.integers(0, 100)))
@settings(max_examples=100)
def test_vectorised_uvar(values: np.ndarray) -> None:
    raw = encode_varints(values)
    assert raw == b"".join(uvar(int(v)) for v in values)
    back, _ = decode_varints(raw, values.size)
    np.testing.assert_array_equal(back, values)


@pytest.mark.parametrize(
    ("raw", "count"),
    [(b"", 1), (b"\x80", 1), (b"\x01\x80\x80", 2), (b"\xff\xff\xff\xff\xff\x01", 1)],
)
def test_short_or_overlong_varints_are_corrupt(raw: bytes, count: int) -> None:
    with pytest.raises(CorruptFileError):
        decode_varints(raw, count)
    with pytest.raises(CorruptFileError):
        pos = 0
        for _ in range(count):
            _, pos = read_uvar(raw, pos)
