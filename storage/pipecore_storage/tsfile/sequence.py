"""A sequential reader over the data area: chunk groups -> chunks -> pages (§1.1).

It needs no index, so it also reads files that were never closed (crash recovery). Chunk and
page bytes are decoded only on demand; `Chunk.raw()` gives a chunk's bytes for copying it
into another file unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import CorruptFileError
from ..tablet import MeasurementSchema, Tablet
from ..types import TSDataType
from ._bytes import ByteReader
from .chunk import (
    ChunkHeader,
    PageHeader,
    decode_aligned_value_page,
    decode_page,
    decode_time_page,
    is_chunk_marker,
    iter_pages,
    page_body,
    read_chunk_header,
)
from .constants import HEAD_SIZE, Marker
from .device_id import DeviceID, read_device_id
from .statistics import Statistics

__all__ = ["Chunk", "ChunkGroup", "Page", "chunk_group_offsets", "scan_chunk_groups"]


class Page:
    """A page of a chunk; `read()` decodes it."""

    __slots__ = ("chunk", "header", "index")

    def __init__(self, chunk: Chunk, header: PageHeader, index: int) -> None:
        self.chunk = chunk
        self.header = header
        self.index = index

    @property
    def statistics(self) -> Statistics | None:
        """The page's statistics (the chunk's for a single-page chunk; None if empty)."""
        if self.header.is_empty:
            return None
        if self.header.statistics is not None:
            return self.header.statistics
        return self.chunk.known_statistics

    def body(self) -> bytes:
        """The decompressed page body."""
        return page_body(self.chunk.data, self.chunk.path, self.chunk.header, self.header)

    def read(self):
        """Non-aligned: (times, values). Time chunk: times. Value chunk: (present, values)."""
        head = self.chunk.header
        path = self.chunk.path
        if self.header.is_empty:
            empty = np.empty(0, head.data_type.numpy_dtype) if not head.is_time_chunk else None
            if head.is_value_chunk:
                return None, empty
            return np.empty(0, np.int64) if head.is_time_chunk else (np.empty(0, np.int64), empty)
        st = self.statistics
        count = st.count if st is not None else None
        if head.is_time_chunk:
            return decode_time_page(self.body(), path, self.header, count)
        if head.is_value_chunk:
            return decode_aligned_value_page(self.body(), path, head, self.header, None)
        return decode_page(self.body(), path, head, self.header, count)


class Chunk:
    """A chunk: its header, offset, statistics and pages."""

    __slots__ = ("_pages", "_stats", "data", "group", "header", "path")

    def __init__(self, group: ChunkGroup, header: ChunkHeader, stats: Statistics | None) -> None:
        self.group = group
        self.header = header
        self.data = group.data
        self.path = group.path
        self._stats = stats
        self._pages: list[Page] | None = None

    offset = property(lambda self: self.header.offset)
    measurement = property(lambda self: self.header.measurement)
    data_type = property(lambda self: self.header.data_type)
    encoding = property(lambda self: self.header.encoding)
    compression = property(lambda self: self.header.compression)
    is_time_chunk = property(lambda self: self.header.is_time_chunk)
    is_value_chunk = property(lambda self: self.header.is_value_chunk)

    @property
    def end_offset(self) -> int:
        return self.header.end_offset

    def raw(self) -> bytes:
        """The chunk's bytes (header and pages), as stored."""
        return bytes(self.data[self.header.offset : self.header.end_offset])

    def pages(self) -> list[Page]:
        if self._pages is None:
            r = ByteReader(self.data, self.path, self.header.data_offset, self.header.end_offset)
            self._pages = [Page(self, h, i) for i, h in enumerate(iter_pages(r, self.header))]
        return self._pages

    @property
    def known_statistics(self) -> Statistics | None:
        """Statistics from the file's index or the page headers, without decoding."""
        if self._stats is None and not self.header.single_page:
            stats = [p.header.statistics for p in self.pages() if p.header.statistics]
            merged = Statistics.empty(self.data_type)
            for st in stats:
                merged = merged.merge(st)
            self._stats = merged
        return self._stats

    @property
    def statistics(self) -> Statistics:
        """The chunk's statistics (decoding the chunk if the file does not hold them)."""
        known = self.known_statistics
        if known is not None:
            return known
        if self.is_time_chunk:
            times = self.read_times()
            self._stats = Statistics.of(TSDataType.VECTOR, times, None)
        else:
            times, values = self.group.read_series()[self.measurement]
            self._stats = Statistics.of(self.data_type, times, values)
        return self._stats

    def read_times(self) -> np.ndarray:
        parts = [p.read() for p in self.pages()]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of a non-aligned chunk."""
        if self.is_time_chunk or self.is_value_chunk:
            return self.group.read_series()[self.measurement]
        parts = [p.read() for p in self.pages()]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, self.data_type.numpy_dtype)
        return np.concatenate([t for t, _ in parts]), np.concatenate([v for _, v in parts])

    def __repr__(self) -> str:
        return f"Chunk({self.measurement!r}, {self.data_type.name}, offset={self.offset})"


class ChunkGroup:
    """The chunks one flush wrote for one device."""

    def __init__(self, data, path, device_id: DeviceID, offset: int) -> None:
        self.data = data
        self.path = path
        self.device_id = device_id
        self.device = str(device_id)
        self.offset = offset
        self.end_offset = offset
        self.chunks: list[Chunk] = []

    @property
    def aligned(self) -> bool:
        return bool(self.chunks) and self.chunks[0].is_time_chunk

    def read_series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Measurement -> (times, values) of the non-null points in this chunk group."""
        if not self.aligned:
            return {c.measurement: c.read() for c in self.chunks}
        tchunk = self.chunks[0]
        tpages = tchunk.pages()
        times = [p.read() for p in tpages]
        out = {}
        for c in self.chunks[1:]:
            pages = c.pages()
            if pages and len(pages) != len(tpages):
                raise CorruptFileError(
                    self.path, c.offset, "value chunk and time chunk differ in pages"
                )
            ts, vs = [], []
            for t, p in zip(times, pages, strict=False):
                if p.header.is_empty:
                    continue
                present, values = p.read()
                if present.shape[0] != t.shape[0]:
                    raise CorruptFileError(self.path, p.header.offset, "value page row count")
                ts.append(t[present])
                vs.append(values)
            out[c.measurement] = (
                np.concatenate(ts) if ts else np.empty(0, np.int64),
                np.concatenate(vs) if vs else np.empty(0, c.data_type.numpy_dtype),
            )
        return out

    def to_tablet(self) -> Tablet:
        """The chunk group's rows as one tablet (union of times; missing values null)."""
        from .reader import merge_series

        data = self.read_series()
        schemas = [
            MeasurementSchema(c.measurement, c.data_type, c.encoding, c.compression)
            for c in self.chunks
            if not c.is_time_chunk
        ]
        return merge_series(self.device, schemas, data, self.aligned)

    def __repr__(self) -> str:
        return f"ChunkGroup({self.device!r}, offset={self.offset}, chunks={len(self.chunks)})"


def _chunk_group(data, path, version, r: ByteReader, stats: dict) -> ChunkGroup:
    offset = r.offset
    r.u8("chunk group marker")
    group = ChunkGroup(data, path, read_device_id(r, version), offset)
    while r.remaining and is_chunk_marker(r.data[r.pos]):
        head = read_chunk_header(r)
        r.skip(head.data_size, "chunk data")
        group.chunks.append(Chunk(group, head, stats.get(head.offset)))
    group.end_offset = r.offset
    return group


def scan_chunk_groups(
    data, path, version: int, end: int | None = None, stats: dict | None = None
) -> Iterator[ChunkGroup]:
    """The chunk groups in ``[7, end)`` in file order; stops at the separator.

    `stats` maps chunk offsets to statistics from the file's index, when there is one.
    Raises CorruptFileError at the first byte that is not a valid item.
    """
    r = ByteReader(data, path, HEAD_SIZE, len(data) if end is None else end)
    stats = stats or {}
    while r.remaining:
        marker = r.data[r.pos]
        if marker == Marker.CHUNK_GROUP_HEADER:
            yield _chunk_group(data, path, version, r, stats)
        elif marker == Marker.OPERATION_INDEX_RANGE:
            r.skip(17, "operation index range")
        elif marker == Marker.SEPARATOR:
            return
        elif is_chunk_marker(marker):
            raise r.error("chunk outside a chunk group")
        else:
            raise r.error(f"unexpected marker byte 0x{marker:02x} in the data area")


def chunk_group_offsets(data, path, version: int, end: int) -> np.ndarray:
    """The start offsets of every chunk group (headers only are read)."""
    return np.array([g.offset for g in scan_chunk_groups(data, path, version, end)], np.int64)
