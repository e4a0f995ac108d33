"""`TsFileReader`: devices, schemas, statistics and columnar reads of a v3 or v4 TsFile.

The file is memory-mapped; the index area is parsed lazily (device index on first use, a
device's TimeseriesMetadata when it is first read) and every structure is bounded by the
region it must lie in, so a damaged file raises `CorruptFileError` with the path and the
byte offset instead of hanging or allocating without limit.
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..errors import CorruptFileError, SchemaError, StoreClosedError
from ..tablet import MeasurementSchema, Tablet
from ..types import TSDataType
from ._bytes import ByteReader
from .chunk import (
    ChunkHeader,
    PageHeader,
    decode_aligned_value_page,
    decode_page,
    decode_time_page,
    decode_values,
    iter_pages,
    page_body,
    read_chunk_header,
)
from .constants import HEAD_SIZE, MAGIC, MAX_TIME, MIN_TIME, TAIL_SIZE, VERSION_V3, VERSION_V4
from .device_id import DeviceID
from .metadata import ChunkMetadata, MetadataIndexNode, TimeseriesMetadata, TsFileMetadata
from .statistics import Statistics

__all__ = ["SeriesNotFoundError", "TsFileReader"]

_MAX_DEPTH = 64
ChunkFilter = Callable[[ChunkMetadata], bool]
StatsFilter = Callable[[Statistics], bool]
_FILLERS = {TSDataType.TEXT: "", TSDataType.STRING: "", TSDataType.BLOB: b""}


class SeriesNotFoundError(SchemaError, KeyError):
    """A device or measurement the file does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


class _DeviceEntry:
    __slots__ = ("aligned", "at", "device_id", "name", "node_end", "node_start", "series", "time")

    def __init__(self, device_id: DeviceID, start: int, end: int, at: int) -> None:
        self.at = at  # where the index entry pointing at the device's node was read
        self.device_id = device_id
        self.name = str(device_id)
        self.node_start, self.node_end = start, end
        self.series: dict[str, TimeseriesMetadata] | None = None
        self.time: TimeseriesMetadata | None = None
        self.aligned = False


class TsFileReader:
    """Reads a complete TsFile of format version 3 or 4 (context manager)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._data: mmap.mmap | None = None
        with open(self.path, "rb") as f:  # the map keeps its own handle on the file
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise CorruptFileError(self.path, 0, "empty file, not a TsFile")
            self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        self._devices: dict[str, _DeviceEntry] | None = None
        self._schemas: dict[str, dict[str, MeasurementSchema]] = {}

    def _open(self) -> None:
        data = self._mapped()
        size = len(data)
        if size < HEAD_SIZE or data[:6] != MAGIC:
            raise CorruptFileError(self.path, 0, "no TsFile magic at the start: not a TsFile")
        self.version = data[6]
        if self.version not in (VERSION_V3, VERSION_V4):
            raise CorruptFileError(self.path, 6, f"unsupported TsFile version byte {self.version}")
        if size < HEAD_SIZE + 1 + TAIL_SIZE or data[size - 6 :] != MAGIC:
            raise CorruptFileError(
                self.path, size, "no TsFile magic at the end: the file is incomplete (not closed)"
            )
        r = ByteReader(data, self.path, size - TAIL_SIZE)
        meta_size = r.i32("TsFileMetadata size")
        meta_start = size - TAIL_SIZE - meta_size
        if meta_size <= 0 or meta_start <= HEAD_SIZE:
            raise CorruptFileError(
                self.path, size - TAIL_SIZE, f"bad TsFileMetadata size {meta_size}"
            )
        self._meta = TsFileMetadata.read(
            ByteReader(data, self.path, meta_start, size - TAIL_SIZE), self.version
        )
        self._meta_start = meta_start
        mo = self._meta.meta_offset
        if not HEAD_SIZE <= mo < meta_start or data[mo] != 0x02:
            raise CorruptFileError(self.path, meta_start, f"meta offset {mo} is not the separator")

    def _mapped(self) -> mmap.mmap:
        """The file's bytes; StoreClosedError once the reader is closed."""
        if self._data is None:
            raise StoreClosedError(f"TsFileReader for {self.path} is closed")
        return self._data

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the file (idempotent); the reader cannot be used afterwards."""
        data, self._data = self._data, None
        if data is not None:
            data.close()

    def __enter__(self) -> TsFileReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def metadata(self) -> TsFileMetadata:
        return self._meta

    @property
    def file_size(self) -> int:
        return len(self._mapped())

    # ------------------------------------------------------------------ device index
    def _index(self) -> dict[str, _DeviceEntry]:
        if self._data is None:
            raise StoreClosedError(f"TsFileReader for {self.path} is closed")
        if self._devices is None:
            devices: dict[str, _DeviceEntry] = {}
            budget = [max(16, (self._meta_start - self._meta.meta_offset) // 9)]
            for root in self._meta.roots.values():
                self._walk_devices(root, devices, 0, budget)
            self._devices = devices
        return self._devices

    def _node(
        self, start: int, end: int, device_level: bool, budget: list[int], parent: int
    ) -> MetadataIndexNode:
        """The index node in ``[start, end)``; `parent` is where the pointer to it was read."""
        if not self._meta.meta_offset < start < end <= self._meta_start:
            raise CorruptFileError(
                self.path, parent, f"index node range [{start}, {end}) is invalid"
            )
        budget[0] -= 1
        if budget[0] < 0:
            raise CorruptFileError(self.path, parent, "the index tree has more nodes than fit")
        return MetadataIndexNode.read(
            ByteReader(self._data, self.path, start, end), self.version, device_level
        )

    def index_node(self, start: int, end: int, device_level: bool = False) -> MetadataIndexNode:
        """The metadata index node stored in ``[start, end)`` (a low-level view of the index)."""
        return self._node(start, end, device_level, [1], start)

    def device_node_range(self, device: str) -> tuple[int, int]:
        """Where the root of a device's measurement index is stored."""
        entry = self._entry(device)
        return entry.node_start, entry.node_end

    def _walk_devices(self, node: MetadataIndexNode, out: dict, depth: int, budget) -> None:
        if depth > _MAX_DEPTH:
            raise CorruptFileError(self.path, node.at, "the device index tree is too deep")
        for key, start, end in node.ranges():
            if node.node_type.is_leaf:
                entry = _DeviceEntry(key, start, end, node.at)  # type: ignore[arg-type]
                out[entry.name] = entry
            else:
                child = self._node(start, end, True, budget, node.at)
                self._walk_devices(child, out, depth + 1, budget)

    def _entry(self, device: str) -> _DeviceEntry:
        entry = self._index().get(device)
        if entry is None:
            raise SeriesNotFoundError(f"{self.path} holds no device {device!r}", device)
        if entry.series is None:
            self._load_series(entry)
        return entry

    def _load_series(self, entry: _DeviceEntry) -> None:
        budget = [max(16, (self._meta_start - self._meta.meta_offset) // 9)]
        root = self._node(entry.node_start, entry.node_end, False, budget, entry.at)
        tsms: list[TimeseriesMetadata] = []
        self._walk_series(root, tsms, 0, budget)
        series: dict[str, TimeseriesMetadata] = {}
        for i, tsm in enumerate(tsms):
            if i == 0 and tsm.measurement == "" and tsm.data_type == TSDataType.VECTOR:
                entry.time, entry.aligned = tsm, True
            elif tsm.data_type == TSDataType.VECTOR or not tsm.measurement:
                raise CorruptFileError(self.path, entry.node_start, "misplaced time column")
            else:
                series[tsm.measurement] = tsm
        for tsm in tsms:
            for c in tsm.chunks:
                if not HEAD_SIZE <= c.offset < self._meta.meta_offset:
                    raise CorruptFileError(
                        self.path,
                        entry.node_start,
                        f"chunk offset {c.offset} outside the data area",
                    )
        entry.series = series

    def _walk_series(self, node: MetadataIndexNode, out: list, depth: int, budget) -> None:
        if depth > _MAX_DEPTH:
            raise CorruptFileError(self.path, node.at, "the measurement index tree is too deep")
        for _, start, end in node.ranges():
            if node.node_type.is_leaf:
                if not self._meta.meta_offset < start < end <= self._meta_start:
                    raise CorruptFileError(
                        self.path, node.at, f"timeseries metadata range [{start}, {end}) is invalid"
                    )
                r = ByteReader(self._data, self.path, start, end)
                while r.remaining:
                    out.append(TimeseriesMetadata.read(r))
            else:
                child = self._node(start, end, False, budget, node.at)
                self._walk_series(child, out, depth + 1, budget)

    # ------------------------------------------------------------------ schema
    def devices(self) -> list[str]:
        """Device paths in file (DeviceID) order."""
        return list(self._index())

    def device_id(self, device: str) -> DeviceID:
        return self._entry(device).device_id

    def is_aligned(self, device: str) -> bool:
        return self._entry(device).aligned

    def measurements(self, device: str) -> list[str]:
        return list(self._entry(device).series or {})

    def timeseries_metadata(self, device: str) -> dict[str, TimeseriesMetadata]:
        """Measurement -> TimeseriesMetadata (the aligned time column not included)."""
        return dict(self._entry(device).series or {})

    def time_column_metadata(self, device: str) -> TimeseriesMetadata | None:
        """The TimeseriesMetadata of an aligned device's time column (None if not aligned)."""
        return self._entry(device).time

    def schemas(self, device: str) -> dict[str, MeasurementSchema]:
        """Measurement -> MeasurementSchema (encoding/compression from its first chunk)."""
        cached = self._schemas.get(device)
        if cached is None:
            cached = {}
            for name, tsm in self._series_of(device).items():
                head = self._chunk_header(tsm.chunks[0].offset)
                cached[name] = MeasurementSchema(
                    name, tsm.data_type, head.encoding, head.compression
                )
            self._schemas[device] = cached
        return dict(cached)

    def statistics(self, device: str, measurement: str) -> Statistics:
        return self._tsm(device, measurement).statistics

    def device_time_ranges(self) -> dict[str, tuple[int, int]]:
        """Device -> (first time, last time) of its data in this file."""
        out = {}
        for device in self._index():
            entry = self._entry(device)
            tsms = [entry.time] if entry.time else list(self._series_of(device).values())
            stats = [t.statistics for t in tsms if t.statistics.count]
            if stats:
                out[device] = (min(s.start_time for s in stats), max(s.end_time for s in stats))
        return out

    def contains(self, device: str, measurement: str) -> bool:
        """Whether the series is in the file (the bloom filter answers 'no' without the index)."""
        bloom = self._meta.bloom_filter
        if bloom is not None and not bloom.contains(f"{device}.{measurement}"):
            return False
        entry = self._index().get(device)
        return entry is not None and measurement in (self._entry(device).series or {})

    def _series_of(self, device: str) -> dict[str, TimeseriesMetadata]:
        return self._entry(device).series or {}

    def _tsm(self, device: str, measurement: str) -> TimeseriesMetadata:
        tsm = self._series_of(device).get(measurement)
        if tsm is None:
            raise SeriesNotFoundError(
                f"{self.path} holds no series {device}.{measurement}", f"{device}.{measurement}"
            )
        return tsm

    def _chunk_header(self, offset: int) -> ChunkHeader:
        return read_chunk_header(ByteReader(self._data, self.path, offset, self._meta.meta_offset))

    # ------------------------------------------------------------------ columnar reads
    def read_series(
        self,
        device: str,
        measurements: Sequence[str] | None = None,
        start: int = MIN_TIME,
        end: int = MAX_TIME,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Measurement -> (int64 times, values) of the non-null points in ``[start, end]``."""
        names = self._names(device, measurements)
        keep_chunk = _time_chunk_filter(start, end)
        keep_page = _time_stats_filter(start, end)
        return self.read_filtered(device, names, keep_chunk, keep_page, start, end)

    def _names(self, device: str, measurements: Sequence[str] | None) -> list[str]:
        series = self._series_of(device)
        if measurements is None:
            return list(series)
        if isinstance(measurements, str):
            measurements = [measurements]
        for m in measurements:
            if m not in series:
                self._tsm(device, m)
        return list(measurements)

    def read_filtered(
        self,
        device: str,
        names: Sequence[str],
        keep_chunk: ChunkFilter,
        keep_page: StatsFilter,
        start: int = MIN_TIME,
        end: int = MAX_TIME,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Like `read_series`, skipping chunks and pages whose statistics fail the filters."""
        entry = self._entry(device)
        if entry.aligned:
            return self._read_aligned(entry, names, keep_chunk, keep_page, start, end)
        cache: dict[bytes, np.ndarray] = {}
        out = {}
        for name in names:
            tsm = entry.series[name]  # type: ignore[index]
            parts = [
                self._read_chunk(c, keep_page, start, end, cache)
                for c in tsm.chunks
                if keep_chunk(c)
            ]
            out[name] = _join(parts, tsm.data_type)
        return out

    def _read_chunk(self, meta: ChunkMetadata, keep_page, start, end, cache):
        head = self._chunk_header(meta.offset)
        if head.is_time_chunk or head.is_value_chunk:
            raise CorruptFileError(self.path, meta.offset, "aligned chunk in a non-aligned series")
        r = ByteReader(self._data, self.path, head.data_offset, self._meta.meta_offset)
        out = []
        for page in iter_pages(r, head):
            stats = meta.statistics if head.single_page else page.statistics
            if page.is_empty or (stats is not None and not keep_page(stats)):
                continue
            body = page_body(self._data, self.path, head, page)
            times, values = self._decode_nonaligned(body, head, page, stats, cache)
            out.append(_clip(times, values, start, end))
        return out

    def _decode_nonaligned(self, body, head, page, stats, cache):
        count = stats.count if stats is not None else None
        tr = ByteReader(body, self.path, base=page.body_offset)
        tlen = tr.length("time column length")
        key = body[tr.pos : tr.pos + tlen]
        hit = cache.get(key)
        if hit is not None and (count is None or hit.shape[0] == count):
            vstart = tr.pos + tlen
            values = decode_values(
                body[vstart:], self.path, page.body_offset + vstart, head, int(hit.shape[0])
            )
            return hit, values
        times, values = decode_page(body, self.path, head, page, count)
        cache[bytes(key)] = times
        return times, values

    def _read_aligned(self, entry, names, keep_chunk, keep_page, start, end):
        time_chunks = [c for c in entry.time.chunks if keep_chunk(c)]
        series = {n: entry.series[n] for n in names}
        offsets = np.array([c.offset for c in entry.time.chunks], dtype=np.int64)
        parts: dict[str, list] = {n: [] for n in names}
        for tmeta in time_chunks:
            nxt = offsets[offsets > tmeta.offset]
            limit = int(nxt.min()) if nxt.size else self._meta.meta_offset
            values = {n: _chunk_in(tsm.chunks, tmeta.offset, limit) for n, tsm in series.items()}
            for n, got in self._aligned_chunk(tmeta, values, keep_page, start, end).items():
                parts[n].extend(got)
        return {n: _join(parts[n], series[n].data_type) for n in names}

    def _aligned_chunk(self, tmeta, values, keep_page, start, end) -> dict[str, list]:
        head = self._chunk_header(tmeta.offset)
        if not head.is_time_chunk:
            raise CorruptFileError(self.path, tmeta.offset, "not an aligned time chunk")
        tpages = self._page_list(head)
        vpages = {}
        for n, vmeta in values.items():
            if vmeta is None:
                continue
            vhead = self._chunk_header(vmeta.offset)
            if not vhead.is_value_chunk:
                raise CorruptFileError(self.path, vmeta.offset, "not an aligned value chunk")
            pages = self._page_list(vhead)
            if pages and len(pages) != len(tpages):
                raise CorruptFileError(
                    self.path,
                    vmeta.offset,
                    f"value chunk has {len(pages)} pages, time chunk {len(tpages)}",
                )
            vpages[n] = (vhead, vmeta, pages)
        out: dict[str, list] = {n: [] for n in values}
        for i, tpage in enumerate(tpages):
            tstats = tmeta.statistics if head.single_page else tpage.statistics
            if tstats is not None and not keep_page(tstats):
                continue
            wanted = []  # the value pages of this row range worth decoding
            for n, (vhead, vmeta, pages) in vpages.items():
                if not pages or pages[i].is_empty:
                    continue
                vstats = vmeta.statistics if vhead.single_page else pages[i].statistics
                if vstats is None or keep_page(vstats):
                    wanted.append((n, vhead, pages[i]))
            if not wanted:
                continue
            count = tstats.count if tstats is not None else None
            body = page_body(self._data, self.path, head, tpage)
            times = decode_time_page(body, self.path, tpage, count)
            for n, vhead, page in wanted:
                body = page_body(self._data, self.path, vhead, page)
                present, vals = decode_aligned_value_page(
                    body, self.path, vhead, page, int(times.shape[0])
                )
                out[n].append(_clip(times[present], vals, start, end))
        return out

    def _page_list(self, head: ChunkHeader) -> list[PageHeader]:
        r = ByteReader(self._data, self.path, head.data_offset, self._meta.meta_offset)
        return list(iter_pages(r, head))

    # ------------------------------------------------------------------ tablets
    def read_tablets(
        self,
        device: str,
        measurements: Sequence[str] | None = None,
        start: int = MIN_TIME,
        end: int = MAX_TIME,
        max_rows: int = 65536,
    ) -> Iterator[Tablet]:
        """The device's rows in ``[start, end]`` as tablets of at most `max_rows` rows.

        Rows are merged over the measurements; a measurement without a value at a row is
        null in that row. Rows where every selected measurement is null are left out.
        """
        if max_rows <= 0:
            raise ValueError(f"max_rows must be positive, got {max_rows}")
        names = self._names(device, measurements)
        schemas = self.schemas(device)
        data = self.read_series(device, names, start, end)
        tablet = merge_series(device, [schemas[n] for n in names], data, self.is_aligned(device))
        for a in range(0, tablet.row_count, max_rows):
            yield tablet.slice(a, a + max_rows) if tablet.row_count > max_rows else tablet

    # ------------------------------------------------------------------ queries
    def query(self, paths, expression=None, partition_start_offset=None, partition_end_offset=None):
        """The seed's query: rows of `paths` where `expression` holds (see `query` module)."""
        from .query_engine import run_query

        return run_query(self, paths, expression, partition_start_offset, partition_end_offset)

    def chunk_groups(self):
        """The chunk groups of the data area, in file order (a low-level sequential reader)."""
        from .sequence import scan_chunk_groups

        stats = self._chunk_statistics()  # also checks that the reader is open
        return scan_chunk_groups(self._data, self.path, self.version, self._meta.meta_offset, stats)

    def _chunk_statistics(self) -> dict[int, Statistics]:
        out = {}
        for device in self._index():
            entry = self._entry(device)
            tsms = list(entry.series.values()) + ([entry.time] if entry.time else [])  # type: ignore[union-attr]
            for tsm in tsms:
                for c in tsm.chunks:
                    out[c.offset] = c.statistics
        return out


# ---------------------------------------------------------------------- helpers
def _time_chunk_filter(start: int, end: int) -> ChunkFilter:
    def keep(meta: ChunkMetadata) -> bool:
        st = meta.statistics
        return st.count > 0 and st.start_time <= end and st.end_time >= start

    return keep


def _time_stats_filter(start: int, end: int) -> StatsFilter:
    def keep(st: Statistics) -> bool:
        return st.start_time <= end and st.end_time >= start

    return keep


def _chunk_in(chunks: list[ChunkMetadata], lo: int, hi: int) -> ChunkMetadata | None:
    """The chunk starting in ``(lo, hi)`` (chunks are in file order)."""
    i = bisect.bisect_right(chunks, lo, key=lambda c: c.offset)
    if i < len(chunks) and chunks[i].offset < hi:
        return chunks[i]
    return None


def _clip(times: np.ndarray, values: np.ndarray, start: int, end: int):
    n = times.shape[0]
    if n == 0 or (times[0] >= start and times[-1] <= end):
        return times, values
    a = int(np.searchsorted(times, start, side="left"))
    b = int(np.searchsorted(times, end, side="right"))
    return times[a:b], values[a:b]


def _join(parts: list, data_type: TSDataType) -> tuple[np.ndarray, np.ndarray]:
    flat = [p for group in parts for p in (group if isinstance(group, list) else [group])]
    if not flat:
        return np.empty(0, np.int64), np.empty(0, data_type.numpy_dtype)
    if len(flat) == 1:
        return flat[0]
    times = np.concatenate([t for t, _ in flat])
    values = np.concatenate([v for _, v in flat])
    if times.shape[0] > 1 and not bool(np.all(times[1:] > times[:-1])):
        order = np.argsort(times, kind="stable")  # overlapping chunks: later chunk wins
        st = times[order]
        last = np.ones(st.shape[0], np.bool_)
        last[:-1] = st[1:] != st[:-1]
        times, values = st[last], values[order][last]
    return times, values


def merge_series(
    device: str,
    schemas: list[MeasurementSchema],
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    aligned: bool,
) -> Tablet:
    """One tablet from per-measurement (times, values): rows = union of the times."""
    arrays = [data[s.name][0] for s in schemas]
    if not arrays:
        return Tablet.empty(device, schemas, aligned)
    if all(a is arrays[0] or np.array_equal(a, arrays[0]) for a in arrays[1:]):
        times = arrays[0]
        return Tablet(device, schemas, times, [data[s.name][1] for s in schemas], [], aligned)
    times = np.unique(np.concatenate(arrays))
    columns, masks = [], []
    for s in schemas:
        t, v = data[s.name]
        idx = np.searchsorted(times, t)
        col = np.full(times.shape[0], _FILLERS.get(s.data_type, 0), dtype=s.data_type.numpy_dtype)
        col[idx] = v
        mask = np.ones(times.shape[0], np.bool_)
        mask[idx] = False
        columns.append(col)
        masks.append(mask)
    return Tablet(device, schemas, times, columns, masks, aligned)
