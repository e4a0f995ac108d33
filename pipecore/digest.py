"""Digests of time-series data per series and time window: what VERIFY PIPE compares.

A window's digest is ``(count, hash)``: the number of points and the wrapping 64-bit **sum**
of one 64-bit hash per point, so it does not depend on the order points are read in (the
store yields each timestamp of a series once, so a sum is enough). A point's hash mixes its
timestamp and a 64-bit word for its value with the splitmix64 finaliser:

* integers (BOOLEAN, INT32, INT64, DATE, TIMESTAMP) → the value as int64;
* FLOAT and DOUBLE → the IEEE bits of the value as float64 (a FLOAT widens exactly);
* TEXT, STRING, BLOB → a polynomial hash of the bytes and their length.

So a series written as INT32 on one side and INT64 on the other digests the same; FLOAT
against DOUBLE too when the values are equal. Everything is numpy over whole arrays: per
byte column for binary values, never per value.

`PipeScope` is what a source says it takes (``extractor_scope``): which series and which
times. `store_digests` computes the digests of a store for a scope; `compare` lines two sets
of digests up into VERIFY's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from pipecore_storage.types import TSDataType

__all__ = [
    "MAX_TIME",
    "MIN_TIME",
    "DigestRequest",
    "PipeScope",
    "VerifyRow",
    "WindowDigests",
    "compare",
    "point_hashes",
    "series_in_scope",
    "store_digests",
    "window_digests",
]

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_INTEGER_TYPES = frozenset(
    {TSDataType.BOOLEAN, TSDataType.INT32, TSDataType.INT64, TSDataType.DATE, TSDataType.TIMESTAMP}
)


class SeriesMatcher(Protocol):
    """Which series a scope takes (iotdb-source's prefix and path patterns implement it)."""

    def may_match_device(self, device: str) -> bool: ...

    def matches(self, device: str, measurement: str) -> bool: ...


@attrs.frozen
class PipeScope:
    """What a pipe's source takes.

    * `matcher` decides per series; `patterns` are IoTDB path patterns whose union covers at
      least every series the matcher takes (what a store, or a receiver, is asked for; the
      answer is then filtered with the matcher).
    * `start`, `end` — the times taken, both inclusive (the source's ``start-time`` /
      ``end-time`` and history range, hulled).
    * `description` — for messages and EXPLAIN (e.g. ``path=root.sg.**``).
    """

    matcher: SeriesMatcher
    patterns: tuple[str, ...]
    start: int = MIN_TIME
    end: int = MAX_TIME
    description: str = ""

    def takes(self, path: str) -> bool:
        device, _, measurement = path.rpartition(".")
        return bool(device) and self.matcher.matches(device, measurement)


@attrs.frozen
class DigestRequest:
    """Digests of the series under `patterns` with ``start <= time < end``, in windows of
    `granularity` aligned on multiples of it (a window is named by its first time)."""

    patterns: tuple[str, ...]
    start: int
    end: int
    granularity: int


@attrs.frozen(eq=False)
class WindowDigests:
    """One series' windows that hold points: first time of each window (sorted), count and
    hash of its points."""

    starts: np.ndarray  # int64
    counts: np.ndarray  # int64
    hashes: np.ndarray  # uint64

    @classmethod
    def empty(cls) -> WindowDigests:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64))

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def points(self) -> int:
        return int(self.counts.sum())


@attrs.frozen
class VerifyRow:
    """One row of VERIFY PIPE: a series' window that is not equal on both sides (or, with
    ``show equal``, any window)."""

    series: str
    window_start: int
    window_end: int  # exclusive
    sender_points: int
    receiver_points: int
    status: str  # equal | missing | differs | extra


# ---------------------------------------------------------------------- hashing
def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def _binary_words(values: np.ndarray) -> np.ndarray:
    """A 64-bit word per TEXT/STRING/BLOB value: polynomial hash over its bytes, column by
    column of a fixed-width byte matrix (a loop over the longest length, not the values); the
    word of a value does not depend on the other values."""
    n = values.shape[0]
    if n == 0:
        return np.empty(0, np.uint64)
    as_bytes = [v.encode("utf-8") if isinstance(v, str) else bytes(v or b"") for v in values]
    lengths = np.fromiter((len(b) for b in as_bytes), np.int64, n)
    width = int(lengths.max()) if n else 0
    words = lengths.astype(np.uint64) * _GOLDEN
    if width:
        fixed = np.array(as_bytes, dtype=f"S{width}")
        matrix = fixed.view(np.uint8).reshape(n, width)
        for column in range(width):  # a value's padding beyond its length changes nothing
            mixed = _mix(words ^ matrix[:, column].astype(np.uint64))
            words = np.where(column < lengths, mixed, words)
    return words


def value_words(values: np.ndarray, data_type: TSDataType) -> np.ndarray:
    """The 64-bit word of each value (see the module docstring)."""
    if data_type.is_binary:
        return _binary_words(values)
    if data_type in _INTEGER_TYPES:
        return values.astype(np.int64).view(np.uint64)
    return values.astype(np.float64).view(np.uint64)


def point_hashes(times: np.ndarray, values: np.ndarray, data_type: TSDataType) -> np.ndarray:
    """One uint64 hash per point (time, value)."""
    t = np.ascontiguousarray(times, dtype=np.int64).view(np.uint64)
    return _mix(_mix(t) ^ (value_words(values, data_type) * _GOLDEN))


def window_digests(times: np.ndarray, hashes: np.ndarray, granularity: int) -> WindowDigests:
    """Per window of `granularity` (aligned on its multiples): count and wrapping hash sum.
    `times` must be sorted (as the store returns them)."""
    if times.shape[0] == 0:
        return WindowDigests.empty()
    windows = np.floor_divide(times, granularity)
    firsts = np.flatnonzero(np.concatenate(([True], windows[1:] != windows[:-1])))
    counts = np.diff(np.append(firsts, times.shape[0])).astype(np.int64)
    sums = np.add.reduceat(hashes, firsts).astype(np.uint64)
    return WindowDigests(windows[firsts] * granularity, counts, sums)


# ---------------------------------------------------------------------- a store's side
def series_in_scope(store: Any, patterns: Iterable[str], scope: PipeScope | None = None):
    """The store's series under `patterns` (each once, sorted), filtered by `scope`."""
    found: dict[str, Any] = {}
    for pattern in patterns:
        for info in store.list_series(pattern):
            if scope is None or scope.takes(info.path):
                found.setdefault(info.path, info)
    return [found[p] for p in sorted(found)]


def store_digests(
    store: Any, series: Sequence[Any], start: int, end: int, granularity: int
) -> dict[str, WindowDigests]:
    """Digests of `series` (`SeriesInfo`s) with ``start <= time < end``, one query per
    device (memtables and sealed files merged, deletions applied)."""
    if granularity <= 0:
        raise ValueError(f"granularity must be positive, got {granularity}")
    by_device: dict[str, list[Any]] = {}
    for info in series:
        by_device.setdefault(info.device, []).append(info)
    out: dict[str, WindowDigests] = {}
    last = end - 1 if end > MIN_TIME else MIN_TIME
    for infos in by_device.values():
        result = store.query([i.path for i in infos], start, last)
        for info in infos:
            times, values = result.series(info.path)
            hashes = point_hashes(times, values, info.data_type)
            out[info.path] = window_digests(times, hashes, granularity)
    return out


# ---------------------------------------------------------------------- comparing
def _lookup(d: WindowDigests, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of `starts`: whether `d` has that window, its count and hash (0 if not)."""
    n = len(starts)
    if not len(d):
        return np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, np.uint64)
    index = np.minimum(np.searchsorted(d.starts, starts), len(d) - 1)
    present = d.starts[index] == starts
    counts = np.where(present, d.counts[index], 0)
    hashes = np.where(present, d.hashes[index], np.uint64(0))
    return present, counts, hashes


def compare(
    sender: Mapping[str, WindowDigests],
    receiver: Mapping[str, WindowDigests],
    granularity: int,
    *,
    include_equal: bool = False,
) -> list[VerifyRow]:
    """Line up windows of both sides: ``missing`` (receiver has none), ``extra`` (sender has
    none), ``differs`` (counts or hashes differ), ``equal``; rows by series then window."""
    rows: list[VerifyRow] = []
    empty = WindowDigests.empty()
    for path in sorted(set(sender) | set(receiver)):
        a, b = sender.get(path, empty), receiver.get(path, empty)
        starts = np.union1d(a.starts, b.starts)
        in_a, ca, ha = _lookup(a, starts)
        in_b, cb, hb = _lookup(b, starts)
        equal = in_a & in_b & (ca == cb) & (ha == hb)
        status = np.where(~in_b, "missing", np.where(~in_a, "extra", "differs"))
        status = np.where(equal, "equal", status)
        keep = np.ones(len(starts), bool) if include_equal else ~equal
        for i in np.flatnonzero(keep).tolist():
            start = int(starts[i])
            rows.append(
                VerifyRow(path, start, start + granularity, int(ca[i]), int(cb[i]), str(status[i]))
            )
    return rows
