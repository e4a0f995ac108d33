"""Cutting a series (or an aligned device's rows) into pages and encoding them into chunks.

This is the writer's hot path: everything is done on whole numpy arrays per page; Python only
loops over pages and chunks.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from ..errors import SchemaError, UnsupportedFormatError
from ..tablet import MeasurementSchema
from ..types import TSFILE_DEFAULT_ENCODINGS, TSDataType, TSEncoding
from . import encoding as _encoding
from .chunk import aligned_value_body, chunk_bytes, nonaligned_body, page_bytes
from .constants import TIME_COLUMN_MASK, VALUE_COLUMN_MASK
from .schema import TsFileConfig
from .statistics import Statistics

__all__ = [
    "PageCutter",
    "TimeEncoder",
    "encode_aligned_group",
    "encode_series_chunk",
    "written_schema",
]

_T = TSDataType
_PLAIN_SIZE = {
    _T.BOOLEAN: 1,
    _T.INT32: 4,
    _T.DATE: 4,
    _T.FLOAT: 4,
    _T.INT64: 8,
    _T.TIMESTAMP: 8,
    _T.DOUBLE: 8,
}
_SCALED_FLOAT = (TSEncoding.TS_2DIFF, TSEncoding.RLE, TSEncoding.RLBE)
_E = TSEncoding
_INT_ENCODINGS = (_E.PLAIN, _E.RLE, _E.TS_2DIFF, _E.GORILLA, _E.ZIGZAG, _E.CHIMP, _E.SPRINTZ,
                  _E.RLBE)  # fmt: skip
# Java's TSEncoding.TYPE_SUPPORTED_ENCODINGS: what a series may be registered with
JAVA_SUPPORTED: dict[TSDataType, tuple[TSEncoding, ...]] = {
    _T.BOOLEAN: (_E.PLAIN, _E.RLE),
    **{t: _INT_ENCODINGS for t in (_T.INT32, _T.INT64, _T.DATE, _T.TIMESTAMP)},
    **{
        t: (_E.PLAIN, _E.RLE, _E.TS_2DIFF, _E.GORILLA_V1, _E.GORILLA, _E.CHIMP, _E.SPRINTZ, _E.RLBE)
        for t in (_T.FLOAT, _T.DOUBLE)
    },
    _T.TEXT: (_E.PLAIN, _E.DICTIONARY),
    _T.STRING: (_E.PLAIN, _E.DICTIONARY),
    _T.BLOB: (_E.PLAIN,),
}
# A registered encoding that the official C++ reader cannot read (or that we only read) is
# written as the closest one both official readers read; the chunk header says which.
_SUBSTITUTES = {
    (_T.BOOLEAN, _E.RLE): _E.PLAIN,
    (_T.FLOAT, _E.RLE): _E.TS_2DIFF,  # same scaling to max_point_number decimals
    (_T.DOUBLE, _E.RLE): _E.TS_2DIFF,
    (_T.FLOAT, _E.GORILLA_V1): _E.GORILLA,
    (_T.DOUBLE, _E.GORILLA_V1): _E.GORILLA,
}


def written_schema(schema: MeasurementSchema) -> MeasurementSchema:
    """The schema chunks are written with: `schema`, or its encoding substituted.

    Raises SchemaError for a pair Java TsFile does not allow at all (TEXT with GORILLA,
    CAMEL, ...).
    """
    dt, e = schema.data_type, schema.encoding
    if _encoding.writable(dt, e):
        return schema
    if e in JAVA_SUPPORTED.get(dt, ()):
        sub = _SUBSTITUTES.get((dt, e))
        if sub is None:  # CHIMP, SPRINTZ, RLBE, DATE/TIMESTAMP ZIGZAG: the type's default
            sub = TSFILE_DEFAULT_ENCODINGS[dt]
        if _encoding.writable(dt, sub):
            return attrs.evolve(schema, encoding=sub)
    raise SchemaError(f"{dt.name} values cannot be written with {e.name}", schema.name)


def value_props(schema: MeasurementSchema, config: TsFileConfig) -> dict[str, str] | None:
    """The encoder properties of a series (``max_point_number`` for scaled floats)."""
    props = schema.props_dict
    if (
        schema.data_type in (_T.FLOAT, _T.DOUBLE)
        and schema.encoding in _SCALED_FLOAT
        and "max_point_number" not in props
    ):
        props["max_point_number"] = str(config.float_precision)
    return props or None


def point_sizes(schema: MeasurementSchema, values: np.ndarray) -> np.ndarray | int | None:
    """Estimated encoded bytes per point (1 byte of time included), or None if unknown.

    Only PLAIN (and DICTIONARY/binary) sizes are estimated; compressing encodings are limited
    by the point count alone.
    """
    dt = schema.data_type
    if dt.is_binary:  # characters, not UTF-8 bytes: an estimate, without encoding every value
        return np.fromiter(map(len, values), dtype=np.int64, count=len(values)) + 5
    if schema.encoding == TSEncoding.PLAIN:
        return _PLAIN_SIZE[dt] + 1
    return None


class PageCutter:
    """Page boundaries ``[(start, stop), ...]`` over n points by count and estimated size."""

    def __init__(self, config: TsFileConfig) -> None:
        self.max_points = config.max_points_per_page
        self.max_bytes = config.page_size_bytes

    def cut(self, n: int, sizes: np.ndarray | int | None) -> list[tuple[int, int]]:
        if n == 0:
            return []
        if sizes is None or isinstance(sizes, (int, np.integer)):
            step = self.max_points
            if sizes:
                step = max(1, min(step, self.max_bytes // int(sizes)))
            return [(a, min(a + step, n)) for a in range(0, n, step)]
        cum = np.cumsum(sizes)
        bounds = []
        a = 0
        while a < n:
            base = int(cum[a - 1]) if a else 0
            b = int(np.searchsorted(cum, base + self.max_bytes, side="left")) + 1
            b = min(max(b, a + 1), a + self.max_points, n)
            bounds.append((a, b))
            a = b
        return bounds


class TimeEncoder:
    """TS_2DIFF time columns, cached per (times array, page range) within one flush."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int, int], bytes] = {}
        self._keep: list[np.ndarray] = []

    def encode(self, times: np.ndarray, a: int, b: int) -> bytes:
        key = (id(times), a, b)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = _encoding.encode_times(times[a:b])
            self._keep.append(times)
        return hit

    def clear(self) -> None:
        self._cache.clear()
        self._keep.clear()


def _encode(values: np.ndarray, schema: MeasurementSchema, encoding: TSEncoding, props) -> bytes:
    try:
        return _encoding.encode(values, schema.data_type, encoding, props)
    except UnsupportedFormatError as e:
        raise SchemaError(str(e), schema.name) from None


def _with_fallback(build: Callable[[TSEncoding], bytes], schema: MeasurementSchema):
    """Encode a chunk with the series' encoding, or PLAIN if its values cannot take it."""
    try:
        return build(schema.encoding), schema.encoding
    except _encoding.UnencodableValuesError:
        return build(TSEncoding.PLAIN), TSEncoding.PLAIN


def encode_series_chunk(
    schema: MeasurementSchema,
    times: np.ndarray,
    values: np.ndarray,
    config: TsFileConfig,
    cutter: PageCutter,
    time_encoder: TimeEncoder,
) -> tuple[bytes, Statistics]:
    """The chunk (header + pages) of a non-aligned series and its statistics."""
    dt = schema.data_type
    bounds = cutter.cut(int(times.shape[0]), point_sizes(schema, values))
    page_stats = [Statistics.of(dt, times[a:b], values[a:b]) for a, b in bounds]
    props = value_props(schema, config)
    multi = len(bounds) > 1

    def build(encoding: TSEncoding) -> bytes:
        pages = []
        for (a, b), st in zip(bounds, page_stats, strict=True):
            body = nonaligned_body(
                time_encoder.encode(times, a, b), _encode(values[a:b], schema, encoding, props)
            )
            pages.append(page_bytes(body, schema.compression, st if multi else None))
        return chunk_bytes(0, schema.name, dt, schema.compression, encoding, pages)

    data, _ = _with_fallback(build, schema)
    return data, _merge(dt, page_stats)


def _merge(dt: TSDataType, stats: list[Statistics]) -> Statistics:
    out = stats[0] if stats else Statistics.empty(dt)
    for st in stats[1:]:
        out = out.merge(st)
    return out


def encode_aligned_group(
    schemas: list[MeasurementSchema],
    times: np.ndarray,
    columns: list[np.ndarray],
    masks: list[np.ndarray | None],
    config: TsFileConfig,
    cutter: PageCutter,
) -> list[tuple[str, bytes, Statistics]]:
    """The time chunk and one value chunk per column of an aligned device's rows.

    Returns ``(measurement, chunk bytes, chunk statistics)``; the time column is ``""``.
    """
    n = int(times.shape[0])
    sizes = [point_sizes(s, c) for s, c in zip(schemas, columns, strict=True)]
    row_sizes = _row_sizes(n, sizes)
    bounds = cutter.cut(n, row_sizes)
    multi = len(bounds) > 1
    time_pages, time_stats = [], []
    for a, b in bounds:
        st = Statistics.of(_T.VECTOR, times[a:b], None)
        body = _encoding.encode_times(times[a:b])
        time_pages.append(page_bytes(body, config.time_compression, st if multi else None))
        time_stats.append(st)
    out = [
        (
            "",
            chunk_bytes(
                TIME_COLUMN_MASK,
                "",
                _T.VECTOR,
                config.time_compression,
                TSEncoding.TS_2DIFF,
                time_pages,
            ),
            _merge(_T.VECTOR, time_stats),
        )
    ]
    for schema, col, mask in zip(schemas, columns, masks, strict=True):
        out.append(_value_chunk(schema, times, col, mask, bounds, config))
    return out


def _row_sizes(n: int, sizes: list) -> np.ndarray | int | None:
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    if all(isinstance(s, int) for s in known):
        return max(known)
    arr = np.zeros(n, np.int64)
    for s in known:
        np.maximum(arr, s, out=arr)
    return arr


def _value_chunk(schema, times, col, mask, bounds, config) -> tuple[str, bytes, Statistics]:
    dt = schema.data_type
    present = np.ones(times.shape[0], np.bool_) if mask is None else ~mask
    stats = []
    for a, b in bounds:
        p = present[a:b]
        stats.append(Statistics.of(dt, times[a:b][p], col[a:b][p]))
    chunk_stats = _merge(dt, stats)
    if chunk_stats.count == 0:  # all null: a chunk header without pages (writeEmptyValueChunk)
        head = chunk_bytes(
            VALUE_COLUMN_MASK, schema.name, dt, schema.compression, schema.encoding, [b""]
        )
        return schema.name, head, chunk_stats
    props = value_props(schema, config)
    multi = len(bounds) > 1

    def build(encoding: TSEncoding) -> bytes:
        pages = []
        for (a, b), st in zip(bounds, stats, strict=True):
            if st.count == 0:
                pages.append(b"\x00")  # an empty page: uvar(0) is its whole header
                continue
            p = present[a:b]
            body = aligned_value_body(p, _encode(col[a:b][p], schema, encoding, props))
            pages.append(page_bytes(body, schema.compression, st if multi else None))
        return chunk_bytes(VALUE_COLUMN_MASK, schema.name, dt, schema.compression, encoding, pages)

    data, _ = _with_fallback(build, schema)
    return schema.name, data, chunk_stats
