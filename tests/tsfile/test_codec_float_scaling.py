"""FLOAT/DOUBLE through TS_2DIFF and RLE (Java FloatEncoder, lossy) — forms 1, 2 and 3."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import value_arrays

from pipecore_storage.tsfile.encoding import decode, encode, read_uvar, uvar
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E

CASES = [(t, e) for t in (T.FLOAT, T.DOUBLE) for e in (E.TS_2DIFF, E.RLE)]


def expected(values: np.ndarray, mpn: int) -> np.ndarray:
    """What the official readers return, value by value (cpp wire-format doc, Java FloatEncoder)."""
    bits = values.dtype.itemsize * 8
    scale = 10.0**mpn
    s_hi, v_hi, lo = (
        (2.0**31 - 1, 2.0**31, -(2.0**31)) if bits == 32 else (2.0**63, 2.0**63, -(2.0**63))
    )
    out = []
    for v in values.tolist():
        if math.isnan(v):
            out.append(v)
            continue
        scaled = v * scale
        if scaled > s_hi or scaled < lo:
            if v > v_hi or v < lo:
                out.append(v)  # raw bits
            else:
                out.append(float(min(math.floor(v + 0.5), 2 ** (bits - 1) - 1)))
        else:
            r = min(math.floor(scaled + 0.5), 2 ** (bits - 1) - 1)
            out.append(r / scale)
    return np.array(out, dtype=values.dtype)


@pytest.mark.parametrize(("data_type", "encoding"), CASES, ids=lambda x: x.name)
@pytest.mark.parametrize("mpn", [2, 0, 5])
def test_lossy_round_trip_matches_the_official_rule(data_type: T, encoding: E, mpn: int) -> None:
    @given(value_arrays(data_type, max_size=200, smooth=True))
    @settings(max_examples=15)
    def check(values: np.ndarray) -> None:
        raw = encode(values, data_type, encoding, {"max_point_number": str(mpn)})
        back = decode(raw, data_type, encoding, values.size)
        want = expected(values, mpn)
        assert back.dtype == want.dtype
        np.testing.assert_array_equal(back, want)  # NaN == NaN here

    check()


def test_two_decimals_by_default() -> None:
    values = np.array([1.23456, -7.891, 100.0], dtype=np.float32)
    raw = encode(values, T.FLOAT, E.TS_2DIFF)
    assert raw[0] == 2  # form 1: uvar(maxPointNumber) first
    np.testing.assert_allclose(decode(raw, T.FLOAT, E.TS_2DIFF, 3), [1.23, -7.89, 100.0], rtol=1e-6)
    exact = np.array([1.25, 3.5, -0.75])
    assert decode(encode(exact, T.DOUBLE, E.TS_2DIFF), T.DOUBLE, E.TS_2DIFF, 3).tolist() == [
        1.25,
        3.5,
        -0.75,
    ]


def test_form_2_and_3_headers() -> None:
    big = np.array([1.0, 3e7, 2.0], dtype=np.float32)  # 3e7 * 100 overflows int32
    raw = encode(big, T.FLOAT, E.TS_2DIFF)
    assert raw[:5] == uvar(0x7FFFFFFF) and raw[5] == 3 and raw[6] == 0b101
    assert raw[7] == 2  # then maxPointNumber
    assert decode(raw, T.FLOAT, E.TS_2DIFF, 3).tolist() == [1.0, 3e7, 2.0]
    odd = np.array([0.5, np.nan, np.inf, -1e300])
    raw = encode(odd, T.DOUBLE, E.TS_2DIFF)
    tag, pos = read_uvar(raw, 0)
    assert tag == 0x7FFFFFFE and raw[pos] == 4
    assert raw[pos + 1] == 0b0001 and raw[pos + 2] == 0b1110  # scaled / raw bitmaps, LSB-first
    back = decode(raw, T.DOUBLE, E.TS_2DIFF, 4)
    np.testing.assert_array_equal(back.view(np.uint64), odd.view(np.uint64))


def test_max_point_number_property_is_validated() -> None:
    with pytest.raises(ValueError, match="max_point_number"):
        encode(np.zeros(2), T.DOUBLE, E.TS_2DIFF, {"max_point_number": "two"})
    raw = encode(np.array([1.26]), T.DOUBLE, E.TS_2DIFF, {"max_point_number": "-3"})
    assert raw[0] == 0 and decode(raw, T.DOUBLE, E.TS_2DIFF, 1).tolist() == [1.0]
