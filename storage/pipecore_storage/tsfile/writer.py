"""`TsFileWriter`: tablets and records in, an Apache TsFile (v4 or v3) out.

Data is buffered per device and written as chunk groups by `flush_chunk_groups()` (called
automatically when the buffer exceeds `TsFileConfig.chunk_group_size_bytes`, and by
`close()`), devices in DeviceID order, series in measurement order. `close()` writes the index
area: TimeseriesMetadata, the metadata index tree, the bloom filter and TsFileMetadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np

from ..errors import SchemaError, StoreClosedError
from ..tablet import MeasurementSchema, Tablet
from ..types import TSDataType
from . import compression as _compression
from ._bytes import i32_bytes
from .bloom import BloomFilter
from .constants import MAGIC, MIN_TIME, VERSION_V3, VERSION_V4, Marker
from .device_id import DeviceID, utf16_key
from .metadata import ChunkMetadata, TimeseriesMetadata, TsFileMetadata, build_index
from .pages import (
    PageCutter,
    TimeEncoder,
    encode_aligned_group,
    encode_series_chunk,
    written_schema,
)
from .schema import TsFileConfig, TsFileSchema, TSRecord, _check_same

__all__ = ["TsFileWriter"]

_FILLERS: dict[TSDataType, Any] = {TSDataType.TEXT: "", TSDataType.STRING: "", TSDataType.BLOB: b""}


@attrs.define(slots=True, eq=False)
class _Series:
    schema: MeasurementSchema  # as registered
    last_time: int = MIN_TIME - 1
    chunks: list[ChunkMetadata] = attrs.field(factory=list)
    pending: list[tuple[np.ndarray, np.ndarray]] = attrs.field(factory=list)
    record_times: list[int] = attrs.field(factory=list)
    record_values: list[Any] = attrs.field(factory=list)
    from_file: bool = False  # registered by open_for_append: may be re-registered freely
    written: MeasurementSchema = attrs.field(default=None)  # what chunks are written with

    def __attrs_post_init__(self) -> None:
        self.set_schema(self.schema)

    def set_schema(self, schema: MeasurementSchema) -> None:
        self.schema = schema
        self.written = written_schema(schema)


@attrs.define(slots=True, eq=False)
class _Device:
    name: str
    device_id: DeviceID
    aligned: bool
    series: dict[str, _Series] = attrs.field(factory=dict)
    last_time: int = MIN_TIME - 1  # aligned devices: one time column
    time_chunks: list[ChunkMetadata] = attrs.field(factory=list)
    blocks: list[tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray | None]]]] = attrs.field(
        factory=list
    )
    rows: list[tuple[int, dict[str, Any]]] = attrs.field(factory=list)

    @property
    def has_pending(self) -> bool:
        if self.aligned:
            return bool(self.blocks or self.rows)
        return any(s.pending or s.record_times for s in self.series.values())


class TsFileWriter:
    """Writes one TsFile. Use as a context manager or call `close()`.

    ``TsFileWriter(path, schema=None, config=None, format_version=4)``. Measurements are
    registered with `register_timeseries` / `register_aligned_timeseries` (or come with the
    `schema`, or with a tablet's own schemas). Times of a series must increase from one write
    to the next; rows inside one tablet may come in any order (sorted, last duplicate wins).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: TsFileSchema | None = None,
        config: TsFileConfig | None = None,
        format_version: int = VERSION_V4,
    ) -> None:
        if format_version not in (VERSION_V3, VERSION_V4):
            raise ValueError(f"format_version must be 3 or 4, got {format_version!r}")
        self._init_state(path, schema, config, format_version)
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._write(MAGIC + bytes((self.version,)))
        for device, entry in self._schema.devices.items():
            for ms in entry.measurements.values():
                self._register(device, ms, entry.aligned)

    def _init_state(self, path, schema, config, version: int) -> None:
        self.path = os.fspath(path)
        self.config = config or TsFileConfig()
        self.version = version
        self._schema = schema or TsFileSchema()
        self._devices: dict[str, _Device] = {}
        self._buffered = 0
        self._cutter = PageCutter(self.config)
        self._closed = False
        self._pos = 0
        self._executor: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ registration
    def register_timeseries(self, device: str, schema: MeasurementSchema) -> None:
        self._check_open()
        self._register(device, schema, aligned=False)

    def register_aligned_timeseries(
        self, device: str, schemas: Iterable[MeasurementSchema]
    ) -> None:
        self._check_open()
        schemas = list(schemas)
        if not schemas:
            raise SchemaError(f"no measurements given for aligned device {device}", device)
        TsFileSchema()._register(device, schemas, aligned=True)  # validates names as a group
        for ms in schemas:
            self._register(device, ms, aligned=True)

    def add_measurement(self, schema: MeasurementSchema) -> None:
        """Register a measurement template any device may write (the seed's addMeasurement)."""
        self._check_writable(schema, schema.name)
        self._schema.register_measurement(schema)

    registerTimeseries = register_timeseries
    addMeasurement = add_measurement

    def _register(self, device: str, schema: MeasurementSchema, aligned: bool) -> _Series:
        dev = self._device(device, aligned)
        if dev.aligned != aligned:
            kind = "aligned" if dev.aligned else "non-aligned"
            raise SchemaError(f"device {device} is already registered as {kind}", device)
        path = f"{device}.{schema.name}"
        if not schema.name:
            raise SchemaError(f"empty measurement name for {device}", device)
        self._check_writable(schema, path)
        old = dev.series.get(schema.name)
        if old is not None:
            if old.from_file and old.schema.data_type == schema.data_type:
                old.set_schema(schema)
                old.from_file = False
                return old
            _check_same(old.schema, schema, path)
            old.set_schema(schema)
            return old
        dev.series[schema.name] = series = _Series(schema)
        return series

    def _check_writable(self, schema: MeasurementSchema, path: str) -> None:
        dt = schema.data_type
        if self.version == VERSION_V3 and not dt.in_format_v3:
            raise SchemaError(
                f"{path}: data type {dt.name} cannot be stored in a version-3 TsFile "
                "(IoTDB 1.x knows BOOLEAN, INT32, INT64, FLOAT, DOUBLE, TEXT only)",
                path,
            )
        try:
            written_schema(schema)
        except SchemaError as e:
            raise SchemaError(f"{path}: {e}", path) from None
        if not _compression.writable(schema.compression):
            raise SchemaError(
                f"{path}: pages cannot be written with {schema.compression.name}", path
            )

    def _device(self, device: str, aligned: bool) -> _Device:
        dev = self._devices.get(device)
        if dev is None:
            if (
                not isinstance(device, str)
                or not device
                or device.startswith(".")
                or device.endswith(".")
            ):
                raise SchemaError(f"invalid device path {device!r}", str(device))
            dev = _Device(device, DeviceID.from_path(device, self.version), aligned)
            self._devices[device] = dev
        return dev

    def _series_for(
        self, dev: _Device, name: str, data_type: TSDataType | None, own: MeasurementSchema | None
    ) -> _Series:
        """The registered series; unregistered ones come from a template or `own` schema."""
        series = dev.series.get(name)
        if series is not None:
            if data_type is not None and data_type != series.schema.data_type:
                raise SchemaError(
                    f"{dev.name}.{name} is {series.schema.data_type.name}, not {data_type.name}",
                    f"{dev.name}.{name}",
                )
            return series
        schema = self._schema.templates.get(name)
        if schema is None:
            schema = own
        if schema is None and data_type is not None:
            schema = MeasurementSchema(name, data_type)
        if schema is None:
            raise SchemaError(
                f"{dev.name}.{name} is not registered (register it or give the data type)",
                f"{dev.name}.{name}",
            )
        return self._register(dev.name, schema, dev.aligned)

    # ------------------------------------------------------------------ writing
    def write_tablet(self, tablet: Tablet) -> None:
        """Write a tablet's rows; null cells (its null masks) are simply absent."""
        self._check_open()
        if tablet.row_count == 0:
            return
        known = self._devices.get(tablet.device)
        aligned = known.aligned if known is not None else tablet.aligned
        dev = self._device(tablet.device, aligned)
        series = [self._series_for(dev, s.name, s.data_type, s) for s in tablet.schemas]
        tab = tablet.sorted()
        times = tab.timestamps
        if dev.aligned:
            self._drain_rows(dev)
            self._write_aligned(dev, tab, series)
        else:
            for s, col, mask in zip(series, tab.columns, tab.null_masks, strict=True):
                self._drain_records(s)
                if mask is None:
                    self._append(dev, s, times, col)
                else:
                    keep = ~mask
                    if keep.any():
                        self._append(dev, s, times[keep], col[keep])
        self._maybe_flush()

    def _append(self, dev: _Device, s: _Series, times: np.ndarray, values: np.ndarray) -> None:
        if int(times[0]) <= s.last_time:
            raise _order_error(f"{dev.name}.{s.schema.name}", int(times[0]), s.last_time)
        s.last_time = int(times[-1])
        s.pending.append((times, values))
        self._buffered += times.nbytes + _nbytes(values)

    def _write_aligned(self, dev: _Device, tab: Tablet, series: list[_Series]) -> None:
        times = tab.timestamps
        if int(times[0]) <= dev.last_time:
            raise _order_error(dev.name, int(times[0]), dev.last_time)
        dev.last_time = int(times[-1])
        cols = {
            s.schema.name: (col, mask)
            for s, col, mask in zip(series, tab.columns, tab.null_masks, strict=True)
        }
        dev.blocks.append((times, cols))
        self._buffered += times.nbytes + sum(_nbytes(c) for c, _ in cols.values())

    def write_record(self, record: TSRecord) -> None:
        """Write one row of one device (the seed's ``write(TSRecord)``)."""
        self._check_open()
        t = int(record.timestamp)
        known = self._devices.get(record.device)
        dev = self._device(record.device, known.aligned if known else False)
        points = [p for p in record.data_points if p.value is not None]
        series = [self._series_for(dev, p.measurement, p.data_type, None) for p in points]
        if dev.aligned:
            if t <= dev.last_time:
                raise _order_error(dev.name, t, dev.last_time)
            dev.last_time = t
            dev.rows.append((t, {p.measurement: p.value for p in points}))
        else:
            for s in series:
                if t <= s.last_time:
                    raise _order_error(f"{dev.name}.{s.schema.name}", t, s.last_time)
            for s, p in zip(series, points, strict=True):
                s.last_time = t
                s.record_times.append(t)
                s.record_values.append(p.value)
        self._buffered += 16 * (len(points) + 1)
        self._maybe_flush()

    write = write_record  # the seed's name

    def _drain_records(self, s: _Series) -> None:
        if not s.record_times:
            return
        times = np.array(s.record_times, dtype=np.int64)
        values = _column(s.record_values, s.schema.data_type)
        s.record_times, s.record_values = [], []
        s.pending.append((times, values))

    def _drain_rows(self, dev: _Device) -> None:
        if not dev.rows:
            return
        times = np.array([t for t, _ in dev.rows], dtype=np.int64)
        cols = {}
        for name, s in dev.series.items():
            raw = [row.get(name) for _, row in dev.rows]
            mask = np.array([v is None for v in raw], dtype=np.bool_)
            if mask.all():
                continue
            fill = _FILLERS.get(s.schema.data_type, 0)
            col = _column([fill if v is None else v for v in raw], s.schema.data_type)
            cols[name] = (col, mask if mask.any() else None)
        dev.rows = []
        dev.blocks.append((times, cols))

    def _maybe_flush(self) -> None:
        if self._buffered >= self.config.chunk_group_size_bytes:
            self.flush_chunk_groups()

    # ------------------------------------------------------------------ flushing
    def flush_chunk_groups(self) -> None:
        """Write every buffered device as a chunk group (devices in DeviceID order).

        Chunks are encoded on `TsFileConfig.encode_threads` threads (numpy releases the GIL);
        the bytes are laid out in the same order whatever the thread count.
        """
        self._check_open()
        pending = [d for d in self._devices.values() if d.has_pending]
        pending.sort(key=lambda d: d.device_id.sort_key())
        time_encoder = TimeEncoder()
        jobs = [(dev, self._chunk_jobs(dev, time_encoder)) for dev in pending]
        flat = [job for _, dev_jobs in jobs for job in dev_jobs]
        if self.config.encode_threads > 1 and len(flat) > 1:
            results = list(self._pool().map(_run, flat))
        else:
            results = [_run(job) for job in flat]
        k = 0
        for dev, dev_jobs in jobs:
            self._write_group(dev, results[k : k + len(dev_jobs)])
            k += len(dev_jobs)
        time_encoder.clear()
        self._buffered = 0

    flush = flush_chunk_groups

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.config.encode_threads, thread_name_prefix="tsfile-encode"
            )
        return self._executor

    def _chunk_jobs(self, dev: _Device, time_encoder: TimeEncoder) -> list[tuple]:
        """What to encode for a device: one job per series, or one for an aligned group."""
        if dev.aligned:
            self._drain_rows(dev)
            names = sorted(dev.series, key=utf16_key)
            blocks, dev.blocks = dev.blocks, []
            times = np.concatenate([b[0] for b in blocks]) if len(blocks) > 1 else blocks[0][0]
            columns, masks = [], []
            for name in names:
                col, mask = _aligned_column(blocks, name, dev.series[name].schema.data_type)
                columns.append(col)
                masks.append(mask)
            schemas = [dev.series[n].written for n in names]
            return [(encode_aligned_group, schemas, times, columns, masks, self.config,
                     self._cutter)]  # fmt: skip
        jobs = []
        for name in sorted(dev.series, key=utf16_key):
            s = dev.series[name]
            self._drain_records(s)
            if s.pending:
                times, values = _concat(s.pending)
                s.pending = []
                jobs.append((_named(name, encode_series_chunk), s.written, times, values,
                             self.config, self._cutter, time_encoder))  # fmt: skip
        return jobs

    def _write_group(self, dev: _Device, results: list) -> None:
        chunks = results[0] if dev.aligned else results
        parts = [bytes((Marker.CHUNK_GROUP_HEADER,)) + dev.device_id.serialize(self.version)]
        pos = self._pos + len(parts[0])
        for name, data, stats in chunks:
            meta = ChunkMetadata(pos, stats)
            (dev.time_chunks if name == "" else dev.series[name].chunks).append(meta)
            parts.append(data)
            pos += len(data)
        self._write(b"".join(parts))

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Flush, write the index area and the tail, and close the file (idempotent)."""
        if self._closed:
            return
        try:
            self.flush_chunk_groups()
            self._write_index()
            self._file.flush()
            if self.config.fsync:
                os.fsync(self._file.fileno())
        finally:
            self._closed = True
            self._file.close()
            self._shutdown_pool()

    def _shutdown_pool(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _write_index(self) -> None:
        meta_offset = self._pos
        self._write(bytes((Marker.SEPARATOR,)))
        devices = sorted(
            (d for d in self._devices.values() if d.time_chunks or _has_chunks(d)),
            key=lambda d: d.device_id.sort_key(),
        )
        entries = [(d.device_id, self._timeseries_metadata(d)) for d in devices]
        chunk_count = sum(len(t.chunks) for _, tsms in entries for t in tsms)
        bloom = BloomFilter.for_entries(chunk_count, self.config.bloom_filter_error_rate)
        bloom.add_all(
            [
                f"{d.name}.{t.measurement}"
                for d, (_, tsms) in zip(devices, entries, strict=True)
                for t in tsms
            ]
        )
        index, roots = build_index(
            entries, self._pos, self.version, self.config.max_degree_of_index_node
        )
        self._write(index)
        meta = TsFileMetadata(roots, meta_offset, bloom)
        raw = meta.serialize(self.version)
        self._write(raw + i32_bytes(len(raw)) + MAGIC)

    def _timeseries_metadata(self, dev: _Device) -> list[TimeseriesMetadata]:
        out = []
        if dev.aligned and dev.time_chunks:
            out.append(_tsm("", TSDataType.VECTOR, dev.time_chunks, 0x80))
        for name in sorted(dev.series, key=utf16_key):
            s = dev.series[name]
            if s.chunks:
                out.append(_tsm(name, s.schema.data_type, s.chunks, 0x40 if dev.aligned else 0))
        return out

    # ------------------------------------------------------------------ information
    def device_time_ranges(self) -> dict[str, tuple[int, int]]:
        """Device -> (first time, last time) over everything written so far."""
        out: dict[str, tuple[int, int]] = {}
        for name, dev in self._devices.items():
            lo, hi = None, None
            metas = dev.time_chunks + [c for s in dev.series.values() for c in s.chunks]
            spans = [
                (c.statistics.start_time, c.statistics.end_time)
                for c in metas
                if c.statistics.count
            ]
            spans += _pending_spans(dev)
            if spans:
                lo = min(a for a, _ in spans)
                hi = max(b for _, b in spans)
                out[name] = (lo, hi)
        return out

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> TsFileWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed:
            self._closed = True
            self._file.close()
            self._shutdown_pool()

    # ------------------------------------------------------------------ plumbing
    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._pos += len(data)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(
                f"TsFileWriter for {self.path} is closed; reopen it with "
                "TsFileWriter.open_for_append(path)"
            )

    @classmethod
    def open_for_append(cls, path: str | os.PathLike[str], config: TsFileConfig | None = None):
        """Reopen a closed (or crashed) TsFile to write more chunk groups (ForceAppend)."""
        from .append import open_for_append

        return open_for_append(cls, path, config)


# ---------------------------------------------------------------------- helpers
def _order_error(path: str, t: int, last: int) -> SchemaError:
    return SchemaError(
        f"{path}: time {t} is not after the last written time {last}; a TsFile series must "
        "be written in increasing time order",
        path,
    )


def _nbytes(values: np.ndarray) -> int:
    if values.dtype == object:
        return int(values.shape[0]) * 64
    return int(values.nbytes)


def _column(values: list, data_type: TSDataType) -> np.ndarray:
    dtype = data_type.numpy_dtype
    if dtype.kind == "O":
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr
    return np.asarray(values, dtype=dtype)


def _concat(pending: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(pending) == 1:
        return pending[0]
    return np.concatenate([t for t, _ in pending]), np.concatenate([v for _, v in pending])


def _aligned_column(
    blocks, name: str, data_type: TSDataType
) -> tuple[np.ndarray, np.ndarray | None]:
    cols: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    any_mask = False
    for times, block in blocks:
        n = times.shape[0]
        got = block.get(name)
        if got is None:
            col = np.full(n, _FILLERS.get(data_type, 0), dtype=data_type.numpy_dtype)
            mask = np.ones(n, np.bool_)
        else:
            col, mask = got
        any_mask |= mask is not None
        cols.append(col)
        masks.append(mask if mask is not None else np.zeros(n, np.bool_))
    column = cols[0] if len(cols) == 1 else np.concatenate(cols)
    if not any_mask:
        return column, None
    return column, masks[0] if len(masks) == 1 else np.concatenate(masks)


def _run(job: tuple):
    return job[0](*job[1:])


def _named(name: str, encode):
    """`encode` returning (chunk bytes, stats) wrapped to return (name, bytes, stats)."""

    def run(*args):
        data, stats = encode(*args)
        return name, data, stats

    return run


def _has_chunks(dev: _Device) -> bool:
    return any(s.chunks for s in dev.series.values())


def _tsm(name: str, dt: TSDataType, chunks: list[ChunkMetadata], mask: int) -> TimeseriesMetadata:
    stats = chunks[0].statistics
    for c in chunks[1:]:
        stats = stats.merge(c.statistics)
    return TimeseriesMetadata(name, dt, stats, chunks, mask)


def _pending_spans(dev: _Device) -> list[tuple[int, int]]:
    spans = []
    for times, _ in dev.blocks:
        spans.append((int(times[0]), int(times[-1])))
    if dev.rows:
        spans.append((dev.rows[0][0], dev.rows[-1][0]))
    for s in dev.series.values():
        for times, _ in s.pending:
            spans.append((int(times[0]), int(times[-1])))
        if s.record_times:
            spans.append((s.record_times[0], s.record_times[-1]))
    return spans
