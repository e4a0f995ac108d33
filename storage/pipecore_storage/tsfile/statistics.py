"""Page, chunk and series statistics (tsfile-format.md §1.5, §2).

`Statistics` holds count, start/end time and the per-type value summary. Values are Python
scalars of the in-memory type (int, float, bool, str for TEXT/STRING); fields a type does not
have are None. Computation follows the Java writer exactly where it shows in the bytes:
sums are accumulated value by value in the order the points come (INT64 and floating sums are
doubles), ``min``/``max`` keep the first value when it is NaN, merging takes ``first`` from the
statistics with the smallest start time and ``last`` from the one with the largest end time.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs
import numpy as np

from ..types import TSDataType, decode_text, encode_text
from ._bytes import ByteReader, uvar_bytes
from .constants import MAX_TIME, MIN_TIME

__all__ = ["Statistics"]

_T = TSDataType
_INTS = (_T.INT32, _T.DATE)
_LONGS = (_T.INT64, _T.TIMESTAMP)
_FLOATS = (_T.FLOAT, _T.DOUBLE)
_HEAD = struct.Struct(">qq")
_FMT = {
    _T.INT32: struct.Struct(">iiiiq"),
    _T.DATE: struct.Struct(">iiiiq"),
    _T.INT64: struct.Struct(">qqqqd"),
    _T.TIMESTAMP: struct.Struct(">qqqqd"),
    _T.FLOAT: struct.Struct(">ffffd"),
    _T.DOUBLE: struct.Struct(">ddddd"),
}
_BOOL = struct.Struct(">??q")
_I32 = struct.Struct(">i")


def _nan_sticky_min(a: float, b: float) -> float:
    """Java's ``if (b < a) a = b``: a NaN already held stays, a NaN offered is ignored."""
    return b if b < a else a


def _nan_sticky_max(a: float, b: float) -> float:
    return b if b > a else a


def _float_min_max(v: np.ndarray) -> tuple[float, float]:
    first = float(v[0])
    if first != first:  # NaN first: Java never replaces it
        return first, first
    lo, hi = float(v.min()), float(v.max())  # NaN propagates: then ignore the NaNs
    if lo != lo or hi != hi:
        lo, hi = float(np.fmin.reduce(v)), float(np.fmax.reduce(v))
    return lo, hi


def _long_sum(v: np.ndarray, lo: int, hi: int) -> float:
    """Java's ``double sum += long`` in order; exact (one integer sum) when no partial sum
    can leave the range doubles hold exactly."""
    if max(abs(lo), abs(hi)) * v.shape[0] < 2**53:
        return float(v.sum())
    return _sequential_sum(v)


def _sequential_sum(v: np.ndarray) -> float:
    """``sum += value`` in order, as a double (numpy's own sum is pairwise)."""
    if v.shape[0] == 0:
        return 0.0
    with np.errstate(all="ignore"):  # inf + -inf is NaN, as in Java, without a warning
        return float(np.cumsum(v, dtype=np.float64)[-1])


@attrs.define(slots=True, eq=True)
class Statistics:
    """Statistics of a page, a chunk or a whole series of one data type.

    `data_type` is VECTOR for the time column of an aligned device (count and times only).
    """

    data_type: TSDataType
    count: int = 0
    start_time: int = MAX_TIME
    end_time: int = MIN_TIME
    min_value: Any = None
    max_value: Any = None
    first_value: Any = None
    last_value: Any = None
    sum_value: Any = None

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, data_type: TSDataType) -> Statistics:
        return cls(TSDataType(data_type))

    @classmethod
    def of(cls, data_type: TSDataType, times: np.ndarray, values: np.ndarray | None) -> Statistics:
        """Statistics of points given in time order (no nulls)."""
        n = int(times.shape[0])
        st = cls(data_type, n)
        if n == 0:
            return st
        st.start_time = int(times[0])
        st.end_time = int(times[-1])
        if values is not None and data_type != _T.VECTOR:
            st._set_values(values)
        return st

    def _set_values(self, v: np.ndarray) -> None:
        dt = self.data_type
        if dt == _T.BOOLEAN:
            self.first_value, self.last_value = bool(v[0]), bool(v[-1])
            self.sum_value = int(np.count_nonzero(v))
        elif dt in _INTS:
            self.min_value, self.max_value = int(v.min()), int(v.max())
            self.first_value, self.last_value = int(v[0]), int(v[-1])
            self.sum_value = int(v.sum(dtype=np.int64))
        elif dt in _LONGS:
            self.min_value, self.max_value = int(v.min()), int(v.max())
            self.first_value, self.last_value = int(v[0]), int(v[-1])
            self.sum_value = _long_sum(v, self.min_value, self.max_value)
        elif dt in _FLOATS:
            self.min_value, self.max_value = _float_min_max(v)
            self.first_value, self.last_value = float(v[0]), float(v[-1])
            self.sum_value = _sequential_sum(v)
        elif dt == _T.TEXT:
            self.first_value, self.last_value = v[0], v[-1]
        elif dt == _T.STRING:
            self.first_value, self.last_value = v[0], v[-1]
            raw = [encode_text(s) for s in v]
            self.min_value = decode_text(min(raw))
            self.max_value = decode_text(max(raw))

    def merge(self, other: Statistics) -> Statistics:
        """The statistics of both (a new object); `other` may come before or after."""
        if other.count == 0:
            return attrs.evolve(self)
        if self.count == 0:
            return attrs.evolve(other)
        m = attrs.evolve(self, count=self.count + other.count)
        m.start_time = min(self.start_time, other.start_time)
        m.end_time = max(self.end_time, other.end_time)
        if other.start_time < self.start_time:
            m.first_value = other.first_value
        if other.end_time > self.end_time:
            m.last_value = other.last_value
        dt = self.data_type
        if dt in _INTS or dt in _LONGS or dt in _FLOATS:
            m.min_value = _nan_sticky_min(self.min_value, other.min_value)
            m.max_value = _nan_sticky_max(self.max_value, other.max_value)
        elif dt == _T.STRING:
            m.min_value = min(self.min_value, other.min_value, key=encode_text)
            m.max_value = max(self.max_value, other.max_value, key=encode_text)
        if dt in _INTS:
            m.sum_value = _wrap64(self.sum_value + other.sum_value)
        elif dt == _T.BOOLEAN or dt in _LONGS or dt in _FLOATS:
            with np.errstate(all="ignore"):
                m.sum_value = self.sum_value + other.sum_value
        return m

    # ------------------------------------------------------------------ serialisation
    def serialize(self) -> bytes:
        return uvar_bytes(self.count) + _HEAD.pack(self.start_time, self.end_time) + self._tail()

    def _tail(self) -> bytes:
        dt = self.data_type
        empty = self.count == 0
        if dt in _FMT:
            if empty:
                return _FMT[dt].pack(0, 0, 0, 0, 0)
            return _FMT[dt].pack(
                self.min_value, self.max_value, self.first_value, self.last_value, self.sum_value
            )
        if dt == _T.BOOLEAN:
            if empty:
                return _BOOL.pack(False, False, 0)
            return _BOOL.pack(self.first_value, self.last_value, self.sum_value)
        if dt == _T.TEXT:
            return _bin32(self.first_value, empty) + _bin32(self.last_value, empty)
        if dt == _T.STRING:
            vals = (self.first_value, self.last_value, self.min_value, self.max_value)
            return b"".join(_bin32(v, empty) for v in vals)
        return b""  # BLOB, VECTOR

    @classmethod
    def deserialize(cls, reader: ByteReader, data_type: TSDataType) -> Statistics:
        count = reader.uvar("statistics count")
        start, end = _HEAD.unpack(reader.take(16, "statistics times"))
        st = cls(data_type, count, start, end)
        dt = data_type
        if dt in _FMT:
            fmt = _FMT[dt]
            raw = reader.take(fmt.size, "statistics values")
            lo, hi, first, last, total = fmt.unpack(raw)
            st.min_value, st.max_value, st.first_value, st.last_value = lo, hi, first, last
            st.sum_value = total
        elif dt == _T.BOOLEAN:
            st.first_value, st.last_value, st.sum_value = _BOOL.unpack(reader.take(10, "stats"))
        elif dt == _T.TEXT:
            st.first_value = decode_text(reader.bin32("first value"))
            st.last_value = decode_text(reader.bin32("last value"))
        elif dt == _T.STRING:
            st.first_value = decode_text(reader.bin32("first value"))
            st.last_value = decode_text(reader.bin32("last value"))
            st.min_value = decode_text(reader.bin32("min value"))
            st.max_value = decode_text(reader.bin32("max value"))
        if count == 0:
            st.min_value = st.max_value = st.first_value = st.last_value = st.sum_value = None
        return st

    def __repr__(self) -> str:
        parts = [f"count={self.count}", f"start_time={self.start_time}"]
        parts.append(f"end_time={self.end_time}")
        for name in ("min_value", "max_value", "first_value", "last_value", "sum_value"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"Statistics({self.data_type.name}, {', '.join(parts)})"


def _wrap64(n: int) -> int:
    return (n + 2**63) % 2**64 - 2**63


def _bin32(value: str | None, empty: bool) -> bytes:
    raw = b"" if empty or value is None else encode_text(value)
    return _I32.pack(len(raw)) + raw
