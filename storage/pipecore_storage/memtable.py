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


SMALL_WRITE_ROWS = 64
"""Writes of at most this many rows are gathered into a shared growing chunk per device."""
OPEN_CHUNK_ROWS = 65536


@attrs.define(slots=True, eq=False)
class MemChunk:
    """Rows of one device: `columns[name] = (values, null mask or None)`, never mutated.

    `seq` is the sequence number of the write; `seqs`, when set, gives one per row (a chunk
    gathering many small writes).
    """

    seq: int
    origin: Origin
    times: np.ndarray
    columns: dict[str, tuple[np.ndarray, np.ndarray | None]]
    seqs: np.ndarray | None = None

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

    def writes(
        self, device: str, schemas: dict[str, MeasurementSchema], aligned: bool
    ) -> Iterator[tuple[int, Tablet]]:
        """(seq, tablet) of each write held, in order (rows null in every column left out)."""
        tablet = self.to_tablet(device, schemas, aligned)
        if self.seqs is None:
            yield self.seq, tablet
            return
        cuts = np.flatnonzero(self.seqs[1:] != self.seqs[:-1]) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(self.seqs)], strict=True):
            yield int(self.seqs[a]), tablet.slice(a, b)


class _OpenChunk:
    """A growing chunk gathering small writes with the same measurements and origin.

    Rows are only ever added past `length` (the buffers grow by copying), so a frozen view
    taken for a snapshot never changes.
    """

    def __init__(self, tablet: Tablet, origin: Origin) -> None:
        self.names = tuple(s.name for s in tablet.schemas)
        self.types = tuple(s.data_type for s in tablet.schemas)
        self.origin = origin
        cap = 256
        self.length = 0
        self.times = np.empty(cap, np.int64)
        self.seqs = np.empty(cap, np.int64)
        self.values = [np.empty(cap, s.data_type.numpy_dtype) for s in tablet.schemas]
        self.masks = [np.zeros(cap, np.bool_) for _ in tablet.schemas]

    def fits(self, tablet: Tablet, origin: Origin) -> bool:
        return (
            origin == self.origin
            and self.length + tablet.row_count <= OPEN_CHUNK_ROWS
            and tuple(s.name for s in tablet.schemas) == self.names
            and tuple(s.data_type for s in tablet.schemas) == self.types
        )

    def append(self, tablet: Tablet, seq: int) -> None:
        n, end = tablet.row_count, self.length + tablet.row_count
        if end > self.times.shape[0]:
            self._grow(max(end, 2 * self.times.shape[0]))
        self.times[self.length : end] = tablet.timestamps
        self.seqs[self.length : end] = seq
        for i in range(len(self.names)):
            self.values[i][self.length : end] = tablet.columns[i]
            self.masks[i][self.length : end] = tablet.null_mask(i) if n else False
        self.length = end

    def _grow(self, cap: int) -> None:
        def grown(buf: np.ndarray) -> np.ndarray:
            new = np.empty(cap, buf.dtype)
            new[: self.length] = buf[: self.length]
            return new

        self.times, self.seqs = grown(self.times), grown(self.seqs)
        self.values = [grown(v) for v in self.values]
        masks = []
        for m in self.masks:
            new = np.zeros(cap, np.bool_)
            new[: self.length] = m[: self.length]
            masks.append(new)
        self.masks = masks

    def freeze(self) -> MemChunk:
        n = self.length
        columns: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for name, values, mask in zip(self.names, self.values, self.masks, strict=True):
            view = mask[:n]
            if view.all():
                continue
            columns[name] = (values[:n], view if view.any() else None)
        seqs = self.seqs[:n]
        return MemChunk(int(seqs[0]), self.origin, self.times[:n], columns, seqs)


@attrs.define(eq=False)
class DeviceData:
    device: str
    nodes: tuple[str, ...]
    aligned: bool
    schemas: dict[str, MeasurementSchema] = attrs.field(factory=dict)
    chunks: list[MemChunk] = attrs.field(factory=list)
    min_time: int = 2**63 - 1
    max_time: int = -(2**63)
    open: _OpenChunk | None = None

    def all_chunks(self) -> tuple[MemChunk, ...]:
        """Every chunk, oldest first; the growing one as a frozen view."""
        if self.open is None or not self.open.length:
            return tuple(self.chunks)
        return (*self.chunks, self.open.freeze())

    def close_open(self) -> None:
        """Turn the growing chunk into an ordinary one (before a rewrite)."""
        if self.open is not None:
            if self.open.length:
                frozen = self.open.freeze()
                if frozen.columns:
                    self.chunks.append(frozen)
            self.open = None


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
    paths: set[tuple[str, ...]] = attrs.field(factory=set)

    @property
    def empty(self) -> bool:
        return not self.devices

    def append(
        self,
        tablet: Tablet,
        nodes: tuple[str, ...],
        seq: int,
        origin: Origin,
        bounds: tuple[int, int] | None = None,
    ) -> None:
        """Add a validated tablet's rows (the arrays are kept, not copied); `bounds` are its
        least and greatest timestamp when the caller knows them."""
        data = self.devices.get(tablet.device)
        if data is None:
            data = self.devices[tablet.device] = DeviceData(tablet.device, nodes, tablet.aligned)
        columns = {}
        for s, col, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
            if mask is not None and mask.all():
                continue
            columns[s.name] = (col, mask)
            known = data.schemas.get(s.name)
            if known is None or known.data_type != s.data_type:
                # new, or created again with another type after its data was deleted
                data.schemas[s.name] = s
            self.series.add((tablet.device, s.name))
        if not columns:
            return
        chunk = MemChunk(seq, origin, tablet.timestamps, columns)
        if tablet.row_count <= SMALL_WRITE_ROWS:
            if data.open is None or not data.open.fits(tablet, origin):
                data.close_open()
                data.open = _OpenChunk(tablet, origin)
            data.open.append(tablet, seq)
        else:
            data.close_open()
            data.chunks.append(chunk)
        if bounds is None:
            times = tablet.timestamps
            bounds = (int(np.minimum.reduce(times)), int(np.maximum.reduce(times)))
        data.min_time = min(data.min_time, bounds[0])
        data.max_time = max(data.max_time, bounds[1])
        self.nbytes += chunk.nbytes
        self.points += chunk.points()
        # min(): a memtable given back after a failed flush is appended out of order
        self.min_seq = seq if self.min_seq < 0 else min(self.min_seq, seq)
        self.max_seq = max(self.max_seq, seq)
        self.all_from_pipe = self.all_from_pipe and origin.generated_by_pipe
        self.clusters.add(origin.cluster_id)
        self.paths.add(origin.path)

    def origin(self) -> Origin:
        """The origin a file sealed from this memtable records (see docs/store.md)."""
        if not self.all_from_pipe:
            return Origin()
        cluster = next(iter(self.clusters)) if len(self.clusters) == 1 else None
        # the clusters every write passed through (the file's data all visited them)
        common = set.intersection(*(set(p) for p in self.paths)) if self.paths else set()
        shared = tuple(c for c in next(iter(self.paths), ()) if c in common)
        if cluster is not None and shared[-1:] == (cluster,):
            shared = shared[:-1]
        return Origin(True, cluster, shared)

    def avg_series_points(self) -> float:
        return self.points / len(self.series) if self.series else 0.0

    def snapshot(self) -> dict[str, tuple[DeviceData, tuple[MemChunk, ...]]]:
        return {d: (data, data.all_chunks()) for d, data in self.devices.items()}

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
            data.close_open()
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
            for chunk in data.all_chunks():
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
    return MemChunk(chunk.seq, chunk.origin, chunk.times, columns, chunk.seqs), removed


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
        runs = [(t, v) for t, v in zip(times, values, strict=True) if t.shape[0]]
        if all(
            bool(np.all(t[1:] > t[:-1])) and (k == 0 or int(t[0]) > int(runs[k - 1][0][-1]))
            for k, (t, _) in enumerate(runs)
        ):  # the common case: sorted runs one after the other in time (sealed, then memtable)
            if len(runs) == 1:
                return runs[0]
            if not runs:
                return np.empty(0, np.int64), np.concatenate(values)
            return np.concatenate([t for t, _ in runs]), np.concatenate([v for _, v in runs])
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
    quick = _in_order_tablet(data, chunks)
    return quick if quick is not None else merged_tablet(data, chunks)


def merged_tablet(data: DeviceData, chunks: list[MemChunk]) -> Tablet | None:
    """`device_tablet` in general: each series merged (sorted, newest value per time), then
    the series put on one time column (nulls where a series has no point)."""
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


def _in_order_tablet(data: DeviceData, chunks: list[MemChunk]) -> Tablet | None:
    """`device_tablet` of the common case, or None: chunks with the same measurements, no
    nulls, and times rising strictly from the first row of the first chunk to the last row of
    the last (a client writing in time order). Then sorting and deduplicating change nothing,
    and the tablet is each column's chunks joined: one concatenation per column."""
    if not chunks:
        return None
    first = chunks[0].columns
    for chunk in chunks:
        columns = chunk.columns
        if len(columns) != len(first) or any(m is not None for _, m in columns.values()):
            return None
        if columns is not first and columns.keys() != first.keys():
            return None
    times = chunks[0].times if len(chunks) == 1 else np.concatenate([c.times for c in chunks])
    if times.shape[0] > 1 and not bool((times[1:] > times[:-1]).all()):
        return None
    names = [n for n in data.schemas if n in first]
    if len(names) != len(first):
        return None
    if len(chunks) == 1:
        columns_out = [first[n][0] for n in names]
    else:
        columns_out = _joined_columns(chunks, names, times.shape[0])
    return Tablet(
        data.device,
        [data.schemas[n] for n in names],
        times,
        columns_out,
        [None] * len(names),
        data.aligned,
    )


def _joined_columns(chunks: list[MemChunk], names: list[str], rows: int) -> list[np.ndarray]:
    """Each column's pieces joined. Numeric columns of one dtype are joined into the rows of
    one 2-D block: one large allocation (numpy asks for huge pages from 4 MiB on) instead of
    one per column, which a flush otherwise pays for in page faults."""
    dtypes = {c.columns[n][0].dtype for c in chunks for n in names}
    if len(dtypes) != 1 or next(iter(dtypes)).kind == "O":
        return [np.concatenate([c.columns[n][0] for c in chunks]) for n in names]
    block = np.empty((len(names), rows), dtype=next(iter(dtypes)))
    for row, n in zip(block, names, strict=True):
        np.concatenate([c.columns[n][0] for c in chunks], out=row, casting="no")
    return list(block)


def _filled(schema: MeasurementSchema, n: int) -> np.ndarray:
    dtype = schema.data_type.numpy_dtype
    if dtype.kind == "O":
        col = np.empty(n, dtype=object)
        col[:] = b"" if schema.data_type.name == "BLOB" else ""
        return col
    return np.zeros(n, dtype=dtype)
