"""Chunks and pages: headers, page bodies, and their encoding and decoding (§1.3, §1.4).

Reading: `read_chunk_header`, `iter_pages` and the page decoders turn the bytes of one chunk
into numpy arrays, with every failure reported as a `CorruptFileError` carrying the file's
path and the absolute offset. Writing: `ChunkBuilder` turns a series' points (or an aligned
device's rows) into chunk bytes plus the chunk statistics.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..types import CompressionType, TSDataType, TSEncoding
from . import compression as _compression
from . import encoding as _encoding
from ._bytes import ByteReader, i32_bytes, uvar_bytes, vstr_bytes
from .constants import CHUNK_TYPE_MASK, TIME_COLUMN_MASK, VALUE_COLUMN_MASK, Marker
from .statistics import Statistics

__all__ = [
    "ChunkHeader",
    "PageHeader",
    "UnsupportedChunkError",
    "chunk_bytes",
    "decode_aligned_value_page",
    "decode_page",
    "decode_time_page",
    "decode_values",
    "iter_pages",
    "page_bytes",
    "read_chunk_header",
]

# A page that claims more points than this many per byte of its body is corrupt: every
# encoding needs at least some bytes per point (TS_2DIFF time blocks: 24 bytes / 129 points).
_MAX_POINTS_PER_BYTE = 64
_LZ4_MAX_RATIO = 256
_SNAPPY_MAX_RATIO = 32


class UnsupportedChunkError(CorruptFileError, UnsupportedFormatError):
    """A chunk uses an encoding or a compression this reader cannot decode (say, LZO).

    Both a `CorruptFileError` (the file cannot be read; path and offset are given) and an
    `UnsupportedFormatError` (the bytes may be fine).
    """


@attrs.define(slots=True)
class ChunkHeader:
    offset: int  # of the marker byte
    chunk_type: int
    measurement: str
    data_size: int
    data_type: TSDataType
    compression: CompressionType
    encoding: TSEncoding
    data_offset: int  # first page header

    @property
    def single_page(self) -> bool:
        return self.chunk_type & CHUNK_TYPE_MASK == Marker.ONLY_ONE_PAGE_CHUNK_HEADER

    @property
    def is_time_chunk(self) -> bool:
        return bool(self.chunk_type & TIME_COLUMN_MASK)

    @property
    def is_value_chunk(self) -> bool:
        return bool(self.chunk_type & VALUE_COLUMN_MASK)

    @property
    def end_offset(self) -> int:
        return self.data_offset + self.data_size


@attrs.define(slots=True)
class PageHeader:
    uncompressed_size: int
    compressed_size: int
    statistics: Statistics | None  # None in a single-page chunk (use the chunk's) or empty page
    offset: int  # of the page header
    body_offset: int

    @property
    def is_empty(self) -> bool:
        """An all-null page of an aligned value chunk (``uvar(0)`` is its whole header)."""
        return self.uncompressed_size == 0


def is_chunk_marker(marker: int) -> bool:
    kind = marker & CHUNK_TYPE_MASK
    masks = marker & 0xC0
    return kind in (Marker.CHUNK_HEADER, Marker.ONLY_ONE_PAGE_CHUNK_HEADER) and masks != 0xC0


def _enum(r: ByteReader, cls, value: int, what: str):
    try:
        return cls(value)
    except ValueError:
        raise r.error(f"unknown {what} {value}", r.pos - 1) from None


def read_chunk_header(r: ByteReader) -> ChunkHeader:
    """The chunk header at the cursor (the marker byte included)."""
    offset = r.offset
    marker = r.u8("chunk marker")
    if not is_chunk_marker(marker):
        raise r.error(f"byte 0x{marker:02x} is not a chunk marker", r.pos - 1)
    name = r.vstr("measurement id")
    if name is None:
        raise r.error("null measurement id")
    size = r.length("chunk data size")
    data_type = _enum(r, TSDataType, r.u8("data type"), "data type")
    comp = _enum(r, CompressionType, r.u8("compression"), "compression")
    enc = _enum(r, TSEncoding, r.u8("encoding"), "encoding")
    if data_type == TSDataType.UNKNOWN or (data_type == TSDataType.VECTOR) != bool(marker & 0x80):
        raise r.error(f"data type {data_type.name} does not fit chunk marker 0x{marker:02x}")
    if size > r.remaining:
        raise r.error(f"chunk data size {size} exceeds the {r.remaining} bytes left")
    return ChunkHeader(offset, marker, name, size, data_type, comp, enc, r.offset)


def iter_pages(r: ByteReader, header: ChunkHeader) -> Iterator[PageHeader]:
    """The page headers of a chunk; `r` must sit at `header.data_offset` (bounded to it)."""
    pages = r.sub(header.data_size, "chunk data")
    with_stats = not header.single_page
    while pages.remaining:
        start = pages.offset
        raw = pages.uvar("page uncompressed size")
        if raw == 0:
            yield PageHeader(0, 0, None, start, pages.offset)
            continue
        size = pages.length("page compressed size")
        stats = Statistics.deserialize(pages, header.data_type) if with_stats else None
        if size > pages.remaining:
            raise pages.error(f"page compressed size {size} exceeds the chunk")
        body = pages.offset
        pages.skip(size)
        yield PageHeader(raw, size, stats, start, body)


# ---------------------------------------------------------------------- page decoding
def page_body(data, path: object, header: ChunkHeader, page: PageHeader) -> bytes:
    """The decompressed body of a page (data = the whole file's bytes)."""
    start = page.body_offset
    comp = data[start : start + page.compressed_size]
    kind = header.compression
    raw = page.uncompressed_size
    limit = {
        CompressionType.UNCOMPRESSED: page.compressed_size,
        CompressionType.LZ4: page.compressed_size * _LZ4_MAX_RATIO + 64,
        CompressionType.SNAPPY: page.compressed_size * _SNAPPY_MAX_RATIO + 64,
    }.get(kind)
    if limit is not None and raw > limit:
        raise CorruptFileError(path, page.offset, f"page size {raw} impossible for {kind.name}")
    try:
        out = _compression.decompress(kind, comp, raw)
    except UnsupportedFormatError as e:
        raise UnsupportedChunkError(path, header.offset, str(e)) from None
    except CorruptFileError as e:
        raise CorruptFileError(path, start, f"{kind.name} page: {e.reason}") from None
    if len(out) != raw:
        raise CorruptFileError(path, start, f"page decompressed to {len(out)} bytes, not {raw}")
    return out


def _check_count(path, page: PageHeader, count: int) -> None:
    if count < 0 or count > max(page.uncompressed_size, 1) * _MAX_POINTS_PER_BYTE:
        raise CorruptFileError(path, page.offset, f"page point count {count} is impossible")


def _decode(fn, path, where: int, *args):
    try:
        return fn(*args)
    except UnsupportedFormatError as e:
        if isinstance(e, CorruptFileError):
            raise
        raise UnsupportedChunkError(path, where, str(e)) from None
    except CorruptFileError as e:
        off = where + e.offset if e.offset is not None else where
        raise CorruptFileError(path, off, e.reason) from None


def decode_page(
    body: bytes, path, header: ChunkHeader, page: PageHeader, count: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Times and values of a non-aligned page (`count` from the statistics, if known)."""
    r = ByteReader(body, path, base=page.body_offset)
    tlen = r.length("time column length")
    tstart = r.pos
    if count is not None:
        _check_count(path, page, count)
    times = _decode(
        _encoding.decode_times, path, page.body_offset + tstart, body[tstart : tstart + tlen], count
    )
    n = int(times.shape[0])
    if count is None:
        _check_count(path, page, n)
    vstart = tstart + tlen
    values = _decode(
        _encoding.decode,
        path,
        page.body_offset + vstart,
        body[vstart:],
        header.data_type,
        header.encoding,
        n,
    )
    return _check_times(path, page, times), values


def decode_time_page(body: bytes, path, page: PageHeader, count: int | None) -> np.ndarray:
    """The times of an aligned time page."""
    if count is not None:
        _check_count(path, page, count)
    times = _decode(_encoding.decode_times, path, page.body_offset, body, count)
    if count is None:
        _check_count(path, page, int(times.shape[0]))
    return _check_times(path, page, times)


def decode_aligned_value_page(
    body: bytes, path, header: ChunkHeader, page: PageHeader, rows: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(present mask over the time page's rows, non-null values) of an aligned value page.

    `rows` is the row count of the matching time page, if known (checked).
    """
    r = ByteReader(body, path, base=page.body_offset)
    count = r.i32("value page row count")
    if rows is not None and count != rows:
        raise r.error(f"value page has {count} rows, its time page {rows}", 0)
    if count < 0 or count > 8 * r.remaining:
        raise r.error(f"value page row count {count} is impossible", 0)
    rows = count
    nbytes = (rows + 7) // 8
    bitmap = np.frombuffer(r.take(nbytes, "null bitmap"), np.uint8)
    present = np.unpackbits(bitmap, count=rows, bitorder="big").astype(np.bool_)
    n = int(np.count_nonzero(present))
    values = _decode(
        _encoding.decode, path, r.offset, body[r.pos :], header.data_type, header.encoding, n
    )
    return present, values


def decode_values(buf: bytes, path, where: int, header: ChunkHeader, count: int) -> np.ndarray:
    """`count` values of `header`'s type and encoding from `buf` (at file offset `where`)."""
    return _decode(_encoding.decode, path, where, buf, header.data_type, header.encoding, count)


def _check_times(path, page: PageHeader, times: np.ndarray) -> np.ndarray:
    if times.shape[0] > 1 and not bool(np.all(times[1:] > times[:-1])):
        raise CorruptFileError(path, page.body_offset, "page times are not strictly increasing")
    return times


# ---------------------------------------------------------------------- writing
def page_bytes(body: bytes, compression: CompressionType, stats: Statistics | None) -> bytes:
    comp = _compression.compress(compression, body)  # thread-safe: encoding runs on threads
    head = uvar_bytes(len(body)) + uvar_bytes(len(comp))
    if stats is not None:
        head += stats.serialize()
    return head + comp


def chunk_bytes(
    mask: int,
    measurement: str,
    data_type: TSDataType,
    compression: CompressionType,
    encoding: TSEncoding,
    pages: list[bytes],
) -> bytes:
    marker = (Marker.CHUNK_HEADER if len(pages) > 1 else Marker.ONLY_ONE_PAGE_CHUNK_HEADER) | mask
    size = sum(len(p) for p in pages)
    head = bytes((marker,)) + vstr_bytes(measurement) + uvar_bytes(size)
    head += bytes((data_type, compression, encoding))
    return head + b"".join(pages)


def nonaligned_body(time_bytes: bytes, value_bytes: bytes) -> bytes:
    return uvar_bytes(len(time_bytes)) + time_bytes + value_bytes


def aligned_value_body(present: np.ndarray, value_bytes: bytes) -> bytes:
    bitmap = np.packbits(present, bitorder="big").tobytes()
    return i32_bytes(int(present.shape[0])) + bitmap + value_bytes
