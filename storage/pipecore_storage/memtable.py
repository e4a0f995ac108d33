"""Memtables: the not-yet-sealed data of one database, held as numpy chunks.

A memtable keeps, per device, the chunks appended by inserts in sequence order: each chunk is
one tablet's rows (int64 times, and per measurement a value array and a null mask), stamped
with the write's sequence number and origin. Nothing is sorted on insert; sorting and
last-write-wins deduplication happen when a series is read or the memtable is flushed.

A device's chunk list is only ever appended to or replaced by a new list (a deletion rewrites
the affected chunks), so a reader that copied the list (`snapshot`) keeps a consistent view.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import attrs
import numpy as np

from .origin import Origin
from .paths import PathPattern
from .tablet import MeasurementSchema, Tablet

__all__ = ["DeviceData", "MemChunk", "MemTable", "device_tablet", "lww_merge", "series_of"]

_OBJECT_VALUE_BYTES = 64


@attrs.define(slots=True, eq=False)
class MemChunk:
    """One insert's rows for one device. `columns[name] = (values, null mask or None)`."""

    seq: int
    origin: Origin
    times: np.ndarray
    columns: dict[str, tuple[np.ndarray, np.ndarray | None]]

    @property
    def nbytes(self) -> int:
        size = self.times.nbytes
        for values, mask in self.columns.values():
            if values.dtype == object:
                size += values.shape[0] * _OBJECT_VALUE_BYTES
            else:
                size += values.nbytes
            if mask is not None:
                size += mask.nbytes
        return size

    def points(self) -> int:
        n = self.times.shape[0]
        return sum(n if m is None else n - int(m.sum()) for _, m in self.columns.values())

    def to_tablet(self, device: str, schemas: dict[str, MeasurementSchema], aligned: bool):
        names = list(self.columns)
        return Tablet(
            device,
            [schemas[n] for n in names],
            self.times,
            [self.columns[n][0] for n in names],
            [self.columns[n][1] for n in names],
            aligned,
        )


@attrs.define(eq=False)
class DeviceData:
    device: str
    nodes: tuple[str, ...]
    aligned: bool
    schemas: dict[str, MeasurementSchema] = attrs.field(factory=dict)
    chunks: list[MemChunk] = attrs.field(factory=list)
    min_time: int = 2**63 - 1
    max_time: int = -(2**63)


@attrs.define(eq=False)
class MemTable:
    """The memtable of one database and one kind (sequence or unsequence data)."""

    database: str
    sequence: bool
    devices: dict[str, DeviceData] = attrs.field(factory=dict)
    nbytes: int = 0
    points: int = 0
    min_seq: int = -1
    max_seq: int = -1
    created_at: float = attrs.field(factory=time.monotonic)
    series: set[tuple[str, str]] = attrs.field(factory=set)
    all_from_pipe: bool = True
    clusters: set[str | None] = attrs.field(factory=set)

    @property
    def empty(self) -> bool:
        return not self.devices

    def append(self, tablet: Tablet, nodes: tuple[str, ...], seq: int, origin: Origin) -> None:
        """Add a validated tablet's rows (the arrays are kept, not copied)."""
        data = self.devices.get(tablet.device)
        if data is None:
            data = self.devices[tablet.device] = DeviceData(tablet.device, nodes, tablet.aligned)
        columns = {}
        for s, col, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
            if mask is not None and mask.all():
                continue
            columns[s.name] = (col, mask)
            data.schemas.setdefault(s.name, s)
            self.series.add((tablet.device, s.name))
        if not columns:
            return
        chunk = MemChunk(seq, origin, tablet.timestamps, columns)
        data.chunks.append(chunk)
        data.min_time = min(data.min_time, int(tablet.timestamps.min()))
        data.max_time = max(data.max_time, int(tablet.timestamps.max()))
        self.nbytes += chunk.nbytes
        self.points += chunk.points()
        # min(): a memtable given back after a failed flush is appended out of order
        self.min_seq = seq if self.min_seq < 0 else min(self.min_seq, seq)
        self.max_seq = max(self.max_seq, seq)
        self.all_from_pipe = self.all_from_pipe and origin.generated_by_pipe
        self.clusters.add(origin.cluster_id)

    def origin(self) -> Origin:
        """The origin a file sealed from this memtable records (see docs/store.md)."""
        if not self.all_from_pipe:
            return Origin()
        return Origin(True, next(iter(self.clusters)) if len(self.clusters) == 1 else None)

    def avg_series_points(self) -> float:
        return self.points / len(self.series) if self.series else 0.0

    def snapshot(self) -> dict[str, tuple[DeviceData, tuple[MemChunk, ...]]]:
        return {d: (data, tuple(data.chunks)) for d, data in self.devices.items()}

    def delete(self, pattern: PathPattern, start: int, end: int) -> int:
        """Remove matching points with start <= time <= end; returns how many went."""
        removed = 0
        for data in list(self.devices.values()):
            if not pattern.may_match_device(data.nodes):
                continue
            if data.max_time < start or data.min_time > end:
                continue
            names = {m for m in data.schemas if pattern.matches_series(data.nodes, m)}
            if not names:
                continue
            new_chunks = []
            for chunk in data.chunks:
                rewritten, n = _delete_in_chunk(chunk, names, start, end)
                removed += n
                if rewritten is not None:
                    new_chunks.append(rewritten)
            data.chunks = new_chunks
            if not new_chunks:
                del self.devices[data.device]
        self.points -= removed
        return removed

    def iter_chunks(self) -> Iterator[tuple[DeviceData, MemChunk]]:
        for data in self.devices.values():
            for chunk in data.chunks:
                yield data, chunk


def _delete_in_chunk(
    chunk: MemChunk, names: set[str], start: int, end: int
) -> tuple[MemChunk | None, int]:
    hit_names = [n for n in chunk.columns if n in names]
    if not hit_names:
        return chunk, 0
    in_range = (chunk.times >= start) & (chunk.times <= end)
    if not in_range.any():
        return chunk, 0
    columns = dict(chunk.columns)
    removed = 0
    for name in hit_names:
        values, mask = columns[name]
        present = in_range if mask is None else in_range & ~mask
        n = int(present.sum())
        if n == 0:
            continue
        removed += n
        new_mask = in_range.copy() if mask is None else mask | in_range
        if new_mask.all():
            del columns[name]
        else:
            columns[name] = (values, new_mask)
    if not columns:
        return None, removed
    return MemChunk(chunk.seq, chunk.origin, chunk.times, columns), removed


# ---------------------------------------------------------------------- merging
def lww_merge(times: list[np.ndarray], values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Merge point runs given oldest first: sorted by time, the newest value per timestamp.

    Within one run a later position is newer. Returns (times, values) with unique times.
    """
    if not times:
        return np.empty(0, np.int64), np.empty(0)
    if len(times) == 1:
        t, v = times[0], values[0]
        if t.shape[0] < 2 or bool(np.all(t[1:] > t[:-1])):
            return t, v
    else:
        t = np.concatenate(times)
        v = np.concatenate(values)
    order = np.argsort(t, kind="stable")
    st = t[order]
    keep = np.empty(st.shape[0], np.bool_)
    keep[:-1] = st[1:] != st[:-1]
    keep[-1:] = True
    idx = order[keep]
    return t[idx], v[idx]


def series_of(
    chunks: Iterable[MemChunk], measurement: str, start: int, end: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The point runs (oldest first) of one measurement in `chunks`, clipped to [start, end]."""
    ts, vs = [], []
    for chunk in chunks:
        col = chunk.columns.get(measurement)
        if col is None:
            continue
        values, mask = col
        t = chunk.times
        keep = (t >= start) & (t <= end)
        if mask is not None:
            keep &= ~mask
        if keep.all():
            ts.append(t)
            vs.append(values)
        elif keep.any():
            ts.append(t[keep])
            vs.append(values[keep])
    return ts, vs


def device_tablet(data: DeviceData, chunks: Iterable[MemChunk]) -> Tablet | None:
    """One sorted, deduplicated tablet holding a device's memtable data (for a flush)."""
    chunks = list(chunks)
    names = [n for n in data.schemas if any(n in c.columns for c in chunks)]
    merged = {}
    for name in names:
        ts, vs = series_of(chunks, name, -(2**63), 2**63 - 1)
        if ts:
            merged[name] = lww_merge(ts, vs)
    if not merged:
        return None
    all_times = [t for t, _ in merged.values()]
    first = all_times[0]
    if all(t.shape == first.shape and np.array_equal(t, first) for t in all_times[1:]):
        times = first
    else:
        times = np.unique(np.concatenate(all_times))
    columns: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    schemas: list[MeasurementSchema] = []
    for name, (t, v) in merged.items():
        schema = data.schemas[name]
        schemas.append(schema)
        if t is times or (t.shape == times.shape and np.array_equal(t, times)):
            columns.append(v)
            masks.append(None)
            continue
        pos = np.searchsorted(times, t)
        col = _filled(schema, times.shape[0])
        col[pos] = v
        mask = np.ones(times.shape[0], np.bool_)
        mask[pos] = False
        columns.append(col)
        masks.append(mask)
    return Tablet(data.device, schemas, times, columns, masks, data.aligned)


def _filled(schema: MeasurementSchema, n: int) -> np.ndarray:
    dtype = schema.data_type.numpy_dtype
    if dtype.kind == "O":
        col = np.empty(n, dtype=object)
        col[:] = b"" if schema.data_type.name == "BLOB" else ""
        return col
    return np.zeros(n, dtype=dtype)
