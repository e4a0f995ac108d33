"""Schema statements of the store: the checks of CREATE TIMESERIES and the SHOW results.

Functions here work on a `SchemaRegistry` under the store's lock and return the schema-log
records to write (creation) or a `StoreRows` of named rows (SHOW), so `Store` only adds locking
and logging. The rows are data with field names; the SQL layer decides the headings IoTDB prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .config import StoreConfig
from .errors import SchemaError
from .paths import iotdb_path, join_path, parse_pattern, split_path, validate_device
from .query import StoreRows
from .schema import SchemaRegistry, check_series_schema, series_record
from .series_meta import SeriesMeta, check_alias, meta_record, meta_text
from .tablet import MeasurementSchema

__all__ = [
    "DatabaseRow",
    "DeviceRow",
    "SeriesRow",
    "SeriesSpec",
    "plan_create_series",
    "plan_series_meta",
    "show_databases",
    "show_devices",
    "show_timeseries",
]


class DatabaseRow(NamedTuple):
    """One database of SHOW DATABASES (the SQL layer gives it IoTDB's headings)."""

    database: str
    schema_replication_factor: int
    data_replication_factor: int
    time_partition_interval: int


class SeriesRow(NamedTuple):
    """One series of SHOW TIMESERIES: what IoTDB 1.3 shows (deadband is None here, the view
    type ``BASE``)."""

    timeseries: str
    alias: str | None
    database: str
    data_type: str
    encoding: str
    compression: str
    tags: str | None
    attributes: str | None
    deadband: str | None
    deadband_parameters: str | None
    view_type: str


class DeviceRow(NamedTuple):
    """One device of SHOW DEVICES: aligned is ``"true"``/``"false"``, template None."""

    device: str
    aligned: str
    template: str | None


SeriesSpec = tuple[str, object, object, object, Mapping[str, str] | None]
"""(measurement, data type, encoding or None, compressor or None, props or None)."""


def series_schemas(device: str, specs: Sequence[SeriesSpec], config: StoreConfig):
    """MeasurementSchemas of CREATE TIMESERIES specs, IoTDB's defaults filled in."""
    schemas = []
    for name, dt, enc, comp, props in specs:
        path = f"{device}.{name}"
        try:
            dtype = MeasurementSchema(name, dt).data_type
            encoding: Any = config.default_encoding(dtype) if enc is None else enc
            compressor: Any = config.compressor if comp is None else comp
            schema = MeasurementSchema(name, dtype, encoding, compressor, props)
        except ValueError as exc:
            raise SchemaError(f"{path}: {exc}", path) from exc
        check_series_schema(path, schema, config.tsfile_format_version)
        schemas.append(schema)
    return schemas


def plan_create_series(
    schema: SchemaRegistry,
    config: StoreConfig,
    device: str,
    specs: Sequence[SeriesSpec],
    aligned: bool,
    metas: Sequence[SeriesMeta | None] | None = None,
) -> tuple[str, list[dict]]:
    """(canonical device, schema records) for CREATE [ALIGNED] TIMESERIES; SchemaError when
    a series exists, the device's alignment differs, an alias clashes, or no database can
    hold it. `metas` gives each series its alias, tags and attributes."""
    nodes = validate_device(device)
    device = join_path(nodes)
    schemas = series_schemas(device, specs, config)
    entry = schema.devices.get(device)
    names = [s.name for s in schemas]
    if len(set(names)) != len(names):
        raise SchemaError(f"{device}: a measurement is named twice in {names}", device)
    for s in schemas:
        if entry is not None and s.name in entry.measurements:
            path = f"{device}.{s.name}"
            raise SchemaError(f"timeseries {path} already exists", path)
    meta_records = _meta_records(device, entry, names, metas)
    if entry is not None and entry.aligned != aligned:
        kind = "aligned" if entry.aligned else "not aligned"
        raise SchemaError(f"device {device} exists and is {kind}", device)
    records: list[dict] = []
    if schema.database_of(nodes) is None:
        # IoTDB creates the missing database of a CREATE TIMESERIES even with schema
        # auto-creation off (its partition fetcher always may); that switch governs inserts
        database = schema.auto_database(nodes, config.default_storage_group_level)
        schema.check_new_database(database)
        records.append({"op": "create_database", "name": database})
    records += [series_record(device, aligned, s) for s in schemas]
    return device, records + meta_records


def _meta_records(device: str, entry: Any, names: list[str], metas) -> list[dict]:
    measurements = dict(entry.measurements) if entry is not None else {}
    measurements.update(dict.fromkeys(names))
    aliases = entry.aliases() if entry is not None else {}
    records = []
    for name, meta in zip(names, metas or [None] * len(names), strict=True):
        if meta is None or meta.empty:
            continue
        check_alias(device, name, meta.alias, measurements, aliases)
        if meta.alias is not None:
            aliases[meta.alias] = name
        records.append(meta_record(device, name, meta))
    return records


def plan_series_meta(schema: SchemaRegistry, path: str, meta: SeriesMeta) -> list[dict]:
    """The record that gives the series at `path` (its name or alias) the metadata `meta`."""
    info = schema.resolve(path)
    if info is None:
        raise SchemaError(f"Path [{path}] does not exist", path)
    entry = schema.devices[info.device]
    check_alias(info.device, info.measurement, meta.alias, entry.measurements, entry.aliases())
    return [meta_record(info.device, info.measurement, meta)]


def split_series_path(path: str) -> tuple[str, str]:
    """(device, measurement) of a full series path."""
    nodes = split_path(path)
    if len(nodes) < 3:
        raise SchemaError(f"illegal timeseries path {path}: needs a device and a name", path)
    return join_path(nodes[:-1]), nodes[-1]


def show_databases(schema: SchemaRegistry, pattern: str, config: StoreConfig) -> StoreRows:
    p = parse_pattern(pattern)
    names = sorted(n for n, nodes in schema.databases.items() if p.matches(nodes))
    rows: list[tuple] = [DatabaseRow(n, 1, 1, config.time_partition_interval) for n in names]
    return StoreRows(list(DatabaseRow._fields), rows)


def show_timeseries(schema: SchemaRegistry, pattern: str) -> StoreRows:
    rows: list[tuple] = [
        SeriesRow(
            iotdb_path(s.path),  # back-quoted as IoTDB shows it
            s.meta.alias,
            s.database,
            s.schema.data_type.name,
            s.schema.encoding.name,
            s.schema.compression.name,
            meta_text(s.meta.tags),
            meta_text(s.meta.attributes),
            None,
            None,
            "BASE",
        )
        for s in schema.iter_series(parse_pattern(pattern))
    ]
    return StoreRows(list(SeriesRow._fields), rows)


def show_devices(schema: SchemaRegistry, pattern: str) -> StoreRows:
    rows: list[tuple] = [
        DeviceRow(iotdb_path(d.device), "true" if d.aligned else "false", None)
        for d in schema.iter_devices(parse_pattern(pattern))
    ]
    return StoreRows(list(DeviceRow._fields), rows)
