"""Databases and time series of a store (IoTDB's tree schema), and the log that persists them.

The schema is a set of databases (``root.vehicle``) and, per device, its measurements with
data type, encoding and compressor, and whether the device is aligned. It is persisted as an
append-only log (``system/schema/mlog.txt``): one JSON record per line, each prefixed with its
CRC-32, appended and fsynced before the change takes effect. A torn last line (a crash in
the middle of an append) is dropped when the log is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import attrs

from .config import StoreConfig
from .crc_lines import crc_line, read_crc_line
from .errors import CorruptFileError, SchemaError
from .fsutil import fsync_dir, write_all
from .paths import PathPattern, join_path, split_path, validate_device, validate_measurement
from .series_meta import SeriesMeta, meta_from_record, meta_record
from .tablet import MeasurementSchema
from .tsfile import compression
from .types import TSDataType, TSEncoding

__all__ = ["SUPPORTED_ENCODINGS", "DeviceSchema", "SchemaLog", "SchemaRegistry", "SeriesInfo"]

_INTS = frozenset(
    {
        TSEncoding.PLAIN,
        TSEncoding.RLE,
        TSEncoding.TS_2DIFF,
        TSEncoding.GORILLA,
        TSEncoding.ZIGZAG,
        TSEncoding.CHIMP,
        TSEncoding.SPRINTZ,
        TSEncoding.RLBE,
    }
)
_FLOATS = frozenset(
    {
        TSEncoding.PLAIN,
        TSEncoding.RLE,
        TSEncoding.TS_2DIFF,
        TSEncoding.GORILLA_V1,
        TSEncoding.GORILLA,
        TSEncoding.CHIMP,
        TSEncoding.SPRINTZ,
        TSEncoding.RLBE,
    }
)
SUPPORTED_ENCODINGS: dict[TSDataType, frozenset[TSEncoding]] = {
    TSDataType.BOOLEAN: frozenset({TSEncoding.PLAIN, TSEncoding.RLE}),
    TSDataType.INT32: _INTS,
    TSDataType.INT64: _INTS,
    TSDataType.DATE: _INTS,
    TSDataType.TIMESTAMP: _INTS,
    TSDataType.FLOAT: _FLOATS,
    TSDataType.DOUBLE: _FLOATS,
    TSDataType.TEXT: frozenset({TSEncoding.PLAIN, TSEncoding.DICTIONARY}),
    TSDataType.STRING: frozenset({TSEncoding.PLAIN, TSEncoding.DICTIONARY}),
    TSDataType.BLOB: frozenset({TSEncoding.PLAIN}),
}
"""Encodings a series of each type may have (IoTDB's ``TSEncoding`` support table)."""


@attrs.frozen
class SeriesInfo:
    """One time series: its full path, device, measurement, database, schema and alignment."""

    path: str
    device: str
    measurement: str
    database: str
    schema: MeasurementSchema
    aligned: bool
    meta: SeriesMeta = attrs.field(factory=SeriesMeta)

    @property
    def data_type(self) -> TSDataType:
        return self.schema.data_type

    @property
    def alias(self) -> str | None:
        return self.meta.alias


@attrs.define
class DeviceSchema:
    """A device: its database, whether it is aligned, and its measurements in creation order."""

    device: str
    nodes: tuple[str, ...]
    database: str
    aligned: bool
    measurements: dict[str, MeasurementSchema] = attrs.field(factory=dict)
    meta: dict[str, SeriesMeta] = attrs.field(factory=dict)  # only series that have some

    def aliases(self) -> dict[str, str]:
        """alias -> measurement of the device's series."""
        return {m.alias: name for name, m in self.meta.items() if m.alias is not None}

    def info(self, name: str) -> SeriesInfo:
        return SeriesInfo(
            f"{self.device}.{join_path([name])}",
            self.device,
            name,
            self.database,
            self.measurements[name],
            self.aligned,
            self.meta.get(name, SeriesMeta()),
        )


def check_series_schema(path: str, schema: MeasurementSchema, format_version: int = 4) -> None:
    """Reject an encoding or compressor the data type cannot have (naming the series), and a
    type the store's TsFile format version cannot hold (v3 knows BOOLEAN..TEXT only)."""
    if schema.data_type not in SUPPORTED_ENCODINGS:
        raise SchemaError(f"{path}: data type {schema.data_type.name} cannot be stored", path)
    if format_version == 3 and not schema.data_type.in_format_v3:
        raise SchemaError(
            f"{path}: data type {schema.data_type.name} cannot be stored in version-3 TsFiles "
            "(tsfile_format_version = 3)",
            path,
        )
    if schema.encoding not in SUPPORTED_ENCODINGS[schema.data_type]:
        raise SchemaError(
            f"{path}: encoding {schema.encoding.name} does not support {schema.data_type.name}",
            path,
        )
    if not compression.writable(schema.compression):
        raise SchemaError(f"{path}: compressor {schema.compression.name} is not supported", path)


class SchemaRegistry:
    """The in-memory schema. Not thread-safe: the store calls it under its lock."""

    def __init__(self) -> None:
        self.databases: dict[str, tuple[str, ...]] = {}
        self.devices: dict[str, DeviceSchema] = {}

    # ------------------------------------------------------------------ databases
    def database_of(self, nodes: Sequence[str]) -> str | None:
        """The database holding the path given by `nodes` (the path itself or above it)."""
        for k in range(2, len(nodes) + 1):
            name = join_path(nodes[:k])
            if name in self.databases:
                return name
        return None

    def check_new_database(self, name: str) -> tuple[str, ...]:
        nodes = tuple(split_path(name))
        if len(nodes) < 2:
            raise SchemaError(f"illegal database {name}: a database is below root", name)
        canonical = join_path(nodes)
        if "/" in canonical or canonical in (".", ".."):
            raise SchemaError(f"illegal database {canonical}: '/' is not allowed", canonical)
        if canonical in self.databases:
            raise SchemaError(f"{canonical} has already been created as database", canonical)
        above = self.database_of(nodes)
        if above is not None:
            raise SchemaError(f"{above} has already been created as database", canonical)
        for other, other_nodes in self.databases.items():
            if other_nodes[: len(nodes)] == nodes:
                raise SchemaError(f"{other} has already been created as database", canonical)
        return nodes

    def add_database(self, name: str) -> None:
        nodes = tuple(split_path(name))
        self.databases[join_path(nodes)] = nodes

    def remove_database(self, name: str) -> None:
        self.databases.pop(name, None)
        for device in [d for d, s in self.devices.items() if s.database == name]:
            del self.devices[device]

    def auto_database(self, device_nodes: Sequence[str], level: int) -> str:
        """The database auto-created for a device: the path down to `level` (root is level 0)."""
        return join_path(device_nodes[: min(level + 1, len(device_nodes))])

    # ------------------------------------------------------------------ series
    def series(self, device: str, measurement: str) -> MeasurementSchema | None:
        entry = self.devices.get(device)
        return None if entry is None else entry.measurements.get(measurement)

    def add_series(
        self, device: str, database: str, aligned: bool, schema: MeasurementSchema
    ) -> None:
        entry = self.devices.get(device)
        if entry is None:
            nodes = tuple(split_path(device))
            entry = self.devices[device] = DeviceSchema(device, nodes, database, aligned)
        entry.measurements[schema.name] = schema

    def remove_series(self, device: str, measurement: str) -> None:
        entry = self.devices.get(device)
        if entry is not None:
            entry.measurements.pop(measurement, None)
            entry.meta.pop(measurement, None)
            if not entry.measurements:
                del self.devices[device]

    def iter_series(self, pattern: PathPattern | None = None) -> Iterator[SeriesInfo]:
        """Matching series, ordered by device path then measurement name."""
        for device in sorted(self.devices):
            entry = self.devices[device]
            if pattern is not None and not pattern.may_match_device(entry.nodes):
                continue
            for name in sorted(entry.measurements):
                if pattern is None or pattern.matches_series(entry.nodes, name):
                    yield entry.info(name)

    def iter_devices(self, pattern: PathPattern | None = None) -> Iterator[DeviceSchema]:
        for device in sorted(self.devices):
            entry = self.devices[device]
            if pattern is None or pattern.matches_device(entry.nodes):
                yield entry

    def resolve(self, path: str) -> SeriesInfo | None:
        """The series named by a full path (no wildcard), or None."""
        nodes = split_path(path)
        if len(nodes) < 3:
            return None
        device = join_path(nodes[:-1])
        entry = self.devices.get(device)
        if entry is None:
            return None
        name = nodes[-1]
        if name not in entry.measurements:
            name = entry.aliases().get(name, "")  # the series' alias names it too
            if not name:
                return None
        return entry.info(name)

    # ------------------------------------------------------------------ write checks
    def plan_writes(
        self,
        device: str,
        schemas: Iterable[MeasurementSchema],
        aligned: bool,
        config: StoreConfig,
        keep_encoding: bool = False,
    ) -> list[dict]:
        """Check a write of `schemas` to `device`; the schema records it needs created.

        Raises SchemaError naming the series for a type that contradicts an existing series,
        an alignment that contradicts the device, or an unknown series when auto-creation is off.
        Nothing is changed: the caller logs the returned records and then applies them.
        New series get IoTDB's default encoding and compressor from `config`, or the given
        ones with `keep_encoding` (LOAD creates series as the loaded file has them).
        """
        schemas = list(schemas)
        entry = self.devices.get(device)
        if entry is not None and entry.aligned == aligned:
            existing = entry.measurements
            for schema in schemas:
                have = existing.get(schema.name)
                if have is None or have.data_type != schema.data_type:
                    break
            else:  # every series exists with this type (so its names are valid): nothing to do
                return []
        nodes = validate_device(device)
        if entry is not None and entry.aligned != aligned:
            kind = "aligned" if entry.aligned else "not aligned"
            raise SchemaError(
                f"timeseries under device {device} are {kind}; write them with aligned="
                f"{entry.aligned}",
                device,
            )
        records: list[dict] = []
        database = entry.database if entry is not None else self.database_of(nodes)
        for schema in schemas:
            validate_measurement(device, schema.name)
            path = f"{device}.{schema.name}"
            known = entry.measurements.get(schema.name) if entry is not None else None
            if known is not None:
                if known.data_type != schema.data_type:
                    raise SchemaError(
                        f"{path}: data type {schema.data_type.name} does not match the series "
                        f"type {known.data_type.name}",
                        path,
                    )
                continue
            if not config.enable_auto_create_schema:
                raise SchemaError(
                    f"{path}: path does not exist (auto-creation of schema is disabled)", path
                )
            if database is None:
                database = self.auto_database(nodes, config.default_storage_group_level)
                self.check_new_database(database)
                records.append({"op": "create_database", "name": database})
            created = schema if keep_encoding else self.default_schema(schema, config)
            check_series_schema(path, created, config.tsfile_format_version)
            records.append(series_record(device, aligned, created))
        return records

    def default_schema(self, schema: MeasurementSchema, config: StoreConfig) -> MeasurementSchema:
        """The schema an auto-created series gets: the tablet's type, IoTDB's defaults."""
        return MeasurementSchema(
            schema.name,
            schema.data_type,
            config.default_encoding(schema.data_type),
            config.compressor,
            schema.props_dict,
        )

    # ------------------------------------------------------------------ records
    def apply(self, record: dict) -> None:
        op = record["op"]
        if op == "create_database":
            self.add_database(record["name"])
        elif op == "delete_database":
            self.remove_database(record["name"])
        elif op == "create_series":
            schema = MeasurementSchema(
                record["measurement"],
                record["type"],
                record["encoding"],
                record["compression"],
                {k: v for k, v in record.get("props", [])},
            )
            device = record["device"]
            database = self.database_of(split_path(device))
            if database is None:
                raise SchemaError(f"{device}: series recorded without a database", device)
            self.add_series(device, database, bool(record["aligned"]), schema)
        elif op == "delete_series":
            self.remove_series(record["device"], record["measurement"])
        elif op == "series_meta":
            entry = self.devices.get(record["device"])
            if entry is None or record["measurement"] not in entry.measurements:
                raise SchemaError(f"{record['device']}: metadata of an unknown series")
            meta = meta_from_record(record)
            if meta.empty:
                entry.meta.pop(record["measurement"], None)
            else:
                entry.meta[record["measurement"]] = meta
        else:
            raise ValueError(f"unknown schema record {op!r}")

    def records(self) -> Iterator[dict]:
        """Records that rebuild this schema (for compacting the log)."""
        for name in self.databases:
            yield {"op": "create_database", "name": name}
        for entry in self.devices.values():
            for schema in entry.measurements.values():
                yield series_record(entry.device, entry.aligned, schema)
            for name, meta in entry.meta.items():
                yield meta_record(entry.device, name, meta)


def series_record(device: str, aligned: bool, schema: MeasurementSchema) -> dict:
    return {
        "op": "create_series",
        "device": device,
        "measurement": schema.name,
        "type": schema.data_type.name,
        "encoding": schema.encoding.name,
        "compression": schema.compression.name,
        "aligned": aligned,
        "props": [list(p) for p in schema.props],
    }


class SchemaLog:
    """The append-only schema log: ``<crc32 hex> <json>\\n`` per record, fsynced per append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None

    def load(self, schema: SchemaRegistry) -> None:
        """Apply every record to `schema`; cut a torn or corrupt tail (bytes in `dropped`)."""
        self.dropped = 0
        if not self.path.exists():
            self.path.write_bytes(b"")
        raw = self.path.read_bytes()
        good = 0
        for line in raw.splitlines(keepends=True):
            record = _parse_line(line)
            if record is None:
                break
            try:
                schema.apply(record)
            except (KeyError, ValueError) as exc:
                raise CorruptFileError(self.path, good, f"bad schema record: {exc}") from exc
            good += len(line)
            self.count += 1
        if good < len(raw):
            self.dropped = len(raw) - good
            with open(self.path, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, records: Sequence[dict]) -> None:
        if not records:
            return
        assert self._fd is not None, "schema log not loaded"
        data = b"".join(_format_line(r) for r in records)
        size = os.fstat(self._fd).st_size
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            # a full disk: no torn line may stay in front of later records (loading stops at
            # the first bad line, so everything after it would be lost)
            os.ftruncate(self._fd, size)
            raise
        self.count += len(records)

    def rewrite(self, schema: SchemaRegistry) -> None:
        """Replace the log by the records of the live schema (atomically)."""
        tmp = self.path.with_suffix(".tmp")
        records = list(schema.records())
        with open(tmp, "wb") as f:
            f.write(b"".join(_format_line(r) for r in records))
            f.flush()
            os.fsync(f.fileno())
        self.close()
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.count = len(records)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _format_line(record: dict) -> bytes:
    return crc_line(record)


def _parse_line(line: bytes) -> dict | None:
    record = read_crc_line(line)
    return record if isinstance(record, dict) and "op" in record else None
