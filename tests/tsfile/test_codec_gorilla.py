"""GORILLA v2: our streams against a reference port of the Java encoder/decoder semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import value_arrays

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import UnencodableValuesError, decode, encode
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E

BITS = {T.INT32: 32, T.DATE: 32, T.FLOAT: 32, T.INT64: 64, T.TIMESTAMP: 64, T.DOUBLE: 64}
ENDING = {
    T.INT32: 1 << 31,
    T.DATE: 1 << 31,
    T.INT64: 1 << 63,
    T.TIMESTAMP: 1 << 63,
    T.FLOAT: 0x7FC00000,
    T.DOUBLE: 0x7FF8000000000000,
}


class JavaGorilla:
    """Bit-level reference of GorillaEncoderV2 / GorillaDecoderV2 (tsfile-format.md §3.5)."""

    def __init__(self, bits: int) -> None:
        self.bits, self.f = bits, 5 if bits == 32 else 6

    def encode(self, patterns: list[int], ending: int) -> bytes:
        out: list[str] = []
        stored_lz, stored_tz, prev = 1 << 30, 0, None
        for v in [*patterns, ending]:
            if prev is None:
                out.append(format(v, f"0{self.bits}b"))
            else:
                x = prev ^ v
                if x == 0:
                    out.append("0")
                else:
                    lz = self.bits - x.bit_length()
                    tz = (x & -x).bit_length() - 1
                    if lz >= stored_lz and tz >= stored_tz:
                        sig = self.bits - stored_lz - stored_tz
                        out.append("10" + format(x >> stored_tz, f"0{sig}b"))
                    else:
                        sig = self.bits - lz - tz
                        out.append(
                            "11" + format(lz, f"0{self.f}b") + format(sig - 1, f"0{self.f}b")
                        )
                        out.append(format(x >> tz, f"0{sig}b"))
                        stored_lz, stored_tz = lz, tz
            prev = v
        bits = "".join(out)
        bits += "0" * (8 - len(bits) % 8)  # pad, always reaching one more byte boundary
        return int(bits, 2).to_bytes(len(bits) // 8, "big")

    def decode(self, raw: bytes, ending: int) -> list[int]:
        """Values up to (not including) the ENDING marker, as the Java reader returns them."""
        bits = "".join(format(b, "08b") for b in raw)
        pos, values = self.bits, []
        value = int(bits[: self.bits], 2)
        lz = tz = None
        while value != ending:
            values.append(value)
            if bits[pos] == "0":
                pos += 1
                continue
            if bits[pos + 1] == "1":
                lz = int(bits[pos + 2 : pos + 2 + self.f], 2)
                sig = int(bits[pos + 2 + self.f : pos + 2 + 2 * self.f], 2) + 1
                tz = self.bits - lz - sig
                pos += 2 + 2 * self.f
            else:
                pos += 2
            assert lz is not None and tz is not None
            sig = self.bits - lz - tz
            value ^= int(bits[pos : pos + sig], 2) << tz
            pos += sig
        return values


def _patterns(values: np.ndarray) -> list[int]:
    return values.view(f"u{values.itemsize}").tolist()


@pytest.mark.parametrize("data_type", list(BITS), ids=lambda t: t.name)
def test_java_reader_reads_ours_and_we_read_javas(data_type: T) -> None:
    ref = JavaGorilla(BITS[data_type])

    @given(value_arrays(data_type, max_size=150, smooth=True))
    @settings(max_examples=40)
    def check(values: np.ndarray) -> None:
        patterns = _patterns(values)
        if ENDING[data_type] in patterns:
            with pytest.raises(UnencodableValuesError, match="page-ending marker"):
                encode(values, data_type, E.GORILLA)
            return
        ours = encode(values, data_type, E.GORILLA)
        if not patterns:
            assert ours == b""  # an empty page has no value stream
            return
        assert ref.decode(ours, ENDING[data_type]) == patterns
        javas = ref.encode(patterns, ENDING[data_type])
        back = decode(javas, data_type, E.GORILLA, len(patterns))
        assert _patterns(back) == patterns

    check()


def test_java_style_byte_layout_of_a_small_page() -> None:
    ref = JavaGorilla(64)
    values = np.array([1.0, 1.0, 1.5, 2.0, 2.0, -3.25], dtype=np.float64)
    javas = ref.encode(_patterns(values), ENDING[T.DOUBLE])
    np.testing.assert_array_equal(decode(javas, T.DOUBLE, E.GORILLA, 6), values)
    ours = encode(values, T.DOUBLE, E.GORILLA)
    assert ours[:8] == values[:1].astype(">f8").tobytes()  # first value raw, big-endian bits
    assert ours[8] >> 5 == 0b011  # a '0' record (1.0 repeated), then the window record '11'
    assert ref.decode(ours, ENDING[T.DOUBLE]) == _patterns(values)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [(T.INT32, -(2**31)), (T.INT64, -(2**63)), (T.FLOAT, float("nan")), (T.DOUBLE, float("nan"))],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_ending_marker_values_are_refused(data_type: T, value: float) -> None:
    values = np.array([1, value, 2], dtype=data_type.numpy_dtype)
    with pytest.raises(UnencodableValuesError, match="index 1"):
        encode(values, data_type, E.GORILLA)


def test_non_canonical_nan_and_negative_zero_round_trip() -> None:
    odd_nan = np.array([0x7FF8000000000001, 0xFFF8000000000000], dtype=np.uint64).view(np.float64)
    values = np.concatenate([odd_nan, [-0.0, 0.0, np.inf, -np.inf]])
    back = decode(encode(values, T.DOUBLE, E.GORILLA), T.DOUBLE, E.GORILLA, values.size)
    np.testing.assert_array_equal(back.view(np.uint64), values.view(np.uint64))


@given(st.integers(1, 300), st.integers(0, 2**31 - 1))
@settings(max_examples=40)
def test_truncated_streams_are_corrupt(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    raw = encode(values, T.DOUBLE, E.GORILLA)
    cut = int(rng.integers(0, len(raw) - 1))
    try:
        back = decode(raw[:cut], T.DOUBLE, E.GORILLA, n)
    except CorruptFileError:
        return
    np.testing.assert_array_equal(back, values)  # only if the cut spared every value
