"""Schema and data statements on the node's store: databases, time series, INSERT, DELETE,
FLUSH and LOAD. Each function takes the statement's `Context` and returns an `Outcome`.

A statement that names several objects (``DELETE DATABASE a, b``, ``DELETE TIMESERIES p, q``)
checks all of them before changing anything; an INSERT of several rows is one atomic batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

import attrs

from pipecore_storage.paths import canonical_device, join_path, split_path
from pipecore_storage.series_meta import SeriesMeta
from pipecore_storage.types import TSDataType

from ..backlog import check_writes
from ..security import check_load_path
from .admin import typed_rows
from .authority import authorize_files
from .dataset import DataSet
from .expressions import Literal, TimeValue
from .outcome import DONE, Context, Outcome, rows, semantic
from .result import (
    COUNT_DEVICES_COLUMNS,
    COUNT_TIMESERIES_COLUMNS,
    SHOW_DATABASES_COLUMNS,
    SHOW_DEVICES_COLUMNS,
    SHOW_TIMESERIES_COLUMNS,
)
from .statements import (
    CountDatabases,
    CountDevices,
    CountTimeseries,
    CreateAlignedTimeseries,
    CreateDatabase,
    CreateTimeseries,
    DeleteData,
    DeleteDatabase,
    DeleteTimeseries,
    Flush,
    Insert,
    LoadTsFile,
    MeasurementSpec,
    ShowDatabases,
    ShowDevices,
    ShowTimeseries,
    Statement,
)

__all__ = ["HANDLERS"]

_DEFAULTS = {"TimePartitionOrigin": 0, "TTL(ms)": "INF"}
_ACCEPTED_DATABASE_ATTRIBUTES = {"SCHEMA_REPLICATION_FACTOR": 1, "DATA_REPLICATION_FACTOR": 1}


def _refuse(statement: Statement, message: str, subject: str | None = None) -> Exception:
    return semantic(statement, message, subject)


#: IoTDB's heading -> the field of the store's SHOW rows (`pipecore_storage.schema_statements`:
#: DatabaseRow, SeriesRow, DeviceRow); the store returns data, the SQL layer names the columns
_STORE_FIELD = {
    "Database": "database",
    "SchemaReplicationFactor": "schema_replication_factor",
    "DataReplicationFactor": "data_replication_factor",
    "TimePartitionInterval": "time_partition_interval",
    "Timeseries": "timeseries",
    "Alias": "alias",
    "DataType": "data_type",
    "Encoding": "encoding",
    "Compression": "compression",
    "Tags": "tags",
    "Attributes": "attributes",
    "Deadband": "deadband",
    "DeadbandParameters": "deadband_parameters",
    "ViewType": "view_type",
    "Device": "device",
    "IsAligned": "aligned",
    "Template": "template",
}


def _store_table(table: Any, columns: tuple[str, ...], offset: int = 0, limit: int | None = None):
    """A store `StoreRows` under IoTDB's headings `columns` (missing ones from _DEFAULTS)."""
    index = {name: i for i, name in enumerate(table.columns)}
    fields = [index.get(_STORE_FIELD.get(c, ""), -1) for c in columns]
    shaped = [
        tuple(row[i] if i >= 0 else _DEFAULTS.get(c) for i, c in zip(fields, columns, strict=True))
        for row in table.rows
    ]
    stop = None if limit is None else offset + limit
    return DataSet.text(columns, shaped[offset:stop])


# ---------------------------------------------------------------- databases
def create_database(ctx: Context, s: CreateDatabase) -> Outcome:
    for key, value in s.attributes.items():
        if _ACCEPTED_DATABASE_ATTRIBUTES.get(key) != value:
            raise _refuse(
                s,
                f"CREATE DATABASE {s.path}: {key}={value} is not supported (pipecore keeps one "
                "replica, one time partition and no TTL); leave the attribute out",
                str(s.path),
            )
    ctx.store.create_database(str(s.path))
    return DONE


def show_databases(ctx: Context, s: ShowDatabases) -> Outcome:
    table = ctx.store.show_databases(str(s.pattern))
    index = {name: i for i, name in enumerate(table.columns)}
    columns = SHOW_DATABASES_COLUMNS + (_DATABASE_DETAILS_COLUMNS if s.details else ())
    fields = [index.get(_STORE_FIELD.get(c, c), -1) for c in columns]
    shaped = [
        tuple(
            row[i] if i >= 0 else _DEFAULTS.get(c, 1) for i, c in zip(fields, columns, strict=True)
        )
        for row in table.rows
    ]
    # IoTDB's types: replication factors and region group numbers INT32, partitions INT64
    types = [TSDataType.TEXT, TSDataType.INT32, TSDataType.INT32, TSDataType.INT64,
             TSDataType.INT64] + [TSDataType.INT32] * (len(columns) - 5)  # fmt: skip
    return rows(typed_rows(columns, types, shaped))


# SHOW DATABASES DETAILS: one schema region group and one data region group per database
_DATABASE_DETAILS_COLUMNS = (
    "SchemaRegionGroupNum",
    "MinSchemaRegionGroupNum",
    "MaxSchemaRegionGroupNum",
    "DataRegionGroupNum",
    "MinDataRegionGroupNum",
    "MaxDataRegionGroupNum",
)


def count_databases(ctx: Context, s: CountDatabases) -> Outcome:
    table = ctx.store.show_databases(str(s.pattern))
    # IoTDB's CountDatabaseTask names the column "count" (not ColumnHeaderConstant's
    # "count(database)", which it never uses)
    return rows(typed_rows(("count",), [TSDataType.INT32], [(len(table.rows),)]))


def delete_database(ctx: Context, s: DeleteDatabase) -> Outcome:
    for path in s.paths:
        if not ctx.store.show_databases(str(path)).rows:
            raise _refuse(
                s,
                f"Path [{path}] does not exist: no database matches it; nothing was deleted",
                str(path),
            )
    for path in s.paths:
        names = [row[0] for row in ctx.store.show_databases(str(path)).rows]
        if names:  # an earlier pattern may have covered it
            ctx.store.delete_database(str(path))
            for name in names:
                ctx.node.templates.forget_under(name)
                ctx.node.ttl.forget_under(name)
    return DONE


# ---------------------------------------------------------------- time series
def _meta(spec: MeasurementSpec) -> SeriesMeta:
    return SeriesMeta(spec.alias, spec.tags, spec.attributes)


def create_timeseries(ctx: Context, s: CreateTimeseries) -> Outcome:
    path = str(s.path)
    spec = s.spec
    ctx.store.create_timeseries(
        path,
        spec.data_type,
        spec.encoding,
        spec.compressor,
        spec.props,
        alias=spec.alias,
        tags=spec.tags,
        attributes=spec.attributes,
    )
    return DONE


def create_aligned_timeseries(ctx: Context, s: CreateAlignedTimeseries) -> Outcome:
    device = str(s.device)
    if not s.measurements:
        raise _refuse(s, f"CREATE ALIGNED TIMESERIES {device}: name at least one measurement")
    for spec in s.measurements:
        if spec.props:
            raise _refuse(s, f"{device}.{spec.name}: properties are not supported here", device)
    ctx.store.create_aligned_timeseries(
        device,
        [m.name for m in s.measurements],
        [m.data_type for m in s.measurements],
        [m.encoding for m in s.measurements],
        [m.compressor for m in s.measurements],
        [_meta(m) for m in s.measurements],
    )
    return DONE


def delete_timeseries(ctx: Context, s: DeleteTimeseries) -> Outcome:
    for path in s.paths:
        if not ctx.store.list_series(str(path)):
            raise _refuse(
                s,
                f"Path [{path}] does not exist: no timeseries matches it; nothing was deleted",
                str(path),
            )
    for path in s.paths:
        if ctx.store.list_series(str(path)):
            ctx.store.delete_timeseries(str(path))
    return DONE


def _tagged(ctx: Context, s: ShowTimeseries | CountTimeseries) -> list[Any]:
    series = ctx.store.list_series(str(s.pattern))
    if s.tag is None:
        return series
    return [info for info in series if s.tag.matches(info.meta.tag_dict)]


def show_timeseries(ctx: Context, s: ShowTimeseries) -> Outcome:
    table = ctx.store.show_timeseries(str(s.pattern))
    if s.tag is not None:
        wanted = {info.path for info in _tagged(ctx, s)}
        table = attrs.evolve(table, rows=[r for r in table.rows if r[0] in wanted])
    return rows(_store_table(table, SHOW_TIMESERIES_COLUMNS, s.offset, s.limit))


def show_devices(ctx: Context, s: ShowDevices) -> Outcome:
    table = ctx.store.show_devices(str(s.pattern))
    activated = ctx.node.templates.activated
    if activated:  # IoTDB's Template column: the template activated on the device
        column = table.columns.index("template")
        table = attrs.evolve(
            table,
            rows=[
                (*r[:column], activated.get(r[0], r[column]), *r[column + 1 :]) for r in table.rows
            ],
        )
    shown = _store_table(table, SHOW_DEVICES_COLUMNS, s.offset, s.limit)
    ttl = getattr(ctx.node, "ttl", None)
    if ttl is not None and ttl.ttls:  # IoTDB's TTL(ms): the device's TTL (pipecore/ttl.py)
        devices = shown.values[0]
        shown.values[-1][:] = [str(ttl.ttl_of(d) or "INF") for d in devices]
    return rows(shown)


def count_timeseries(ctx: Context, s: CountTimeseries) -> Outcome:
    series = _tagged(ctx, s)
    if s.group_by_level is None:
        return rows(typed_rows(COUNT_TIMESERIES_COLUMNS, [TSDataType.INT64], [(len(series),)]))
    counts: dict[str, int] = {}
    for info in series:
        nodes = split_path(info.path)
        if len(nodes) > s.group_by_level:
            prefix = join_path(nodes[: s.group_by_level + 1])
            counts[prefix] = counts.get(prefix, 0) + 1
    return rows(
        typed_rows(
            ("Column", *COUNT_TIMESERIES_COLUMNS),
            [TSDataType.TEXT, TSDataType.INT64],
            sorted(counts.items()),
        )
    )


def count_devices(ctx: Context, s: CountDevices) -> Outcome:
    table = ctx.store.show_devices(str(s.pattern))
    return rows(typed_rows(COUNT_DEVICES_COLUMNS, [TSDataType.INT64], [(len(table.rows),)]))


# ---------------------------------------------------------------- INSERT
_TEXT_TYPES = (TSDataType.TEXT, TSDataType.STRING)


def _python_value(value: Literal | TimeValue, now_ms: int, series_type: TSDataType | None):
    """An INSERT literal as the store takes it. A TEXT series gets the literal as written
    (``16.0`` stays ``16.0``), as IoTDB stores it."""
    if isinstance(value, TimeValue):
        resolved = value.resolve(now_ms)
        return value.text if series_type in _TEXT_TYPES else resolved
    if value.kind == "null":
        return None
    if series_type in _TEXT_TYPES and value.kind in ("int", "float", "boolean", "nan"):
        return value.text
    if value.kind == "nan":
        return math.nan
    return value.value


def insert(ctx: Context, s: Insert) -> Outcome:
    device = str(s.device)
    known: Mapping[str, TSDataType] = {}
    canonical = canonical_device(device)[0]
    if s.rows and ctx.store.device_aligned(canonical) is None:
        # a device below a schema template's path uses the template from its first write
        ctx.node.templates.activate_on_write(ctx.store, canonical)
    for measurement in s.measurements:
        info = ctx.store.series(join_path([*split_path(device), measurement]))
        if info is not None:
            known = {**known, measurement: info.data_type}
    timestamps: list[int] = []
    rows: list[dict[str, object]] = []
    for row in s.rows:
        if len(row.values) != len(s.measurements):
            raise _refuse(
                s,
                f"INSERT INTO {device}: the row at line {row.line}:{row.column} has "
                f"{len(row.values)} values for {len(s.measurements)} measurements",
                device,
            )
        values = {
            m: _python_value(v, ctx.now_ms, known.get(m))
            for m, v in zip(s.measurements, row.values, strict=True)
        }
        present = {m: v for m, v in values.items() if v is not None}  # null: no point
        if present:
            timestamps.append(row.time.resolve(ctx.now_ms))
            rows.append(present)
    check_writes(ctx.store)  # a pipe's backlog full with overflow-policy=block: 606
    if rows:  # one write for the statement, as IoTDB's insert node: one pipe event
        # IoTDB >= 1.2: a device takes its own alignment, with or without ALIGNED
        aligned = ctx.store.device_aligned(canonical)
        ctx.store.insert_rows(
            device, timestamps, rows, aligned=s.aligned if aligned is None else aligned
        )
    return DONE


# ---------------------------------------------------------------- DELETE, FLUSH, LOAD
def delete_data(ctx: Context, s: DeleteData) -> Outcome:
    try:
        start, end = s.time_range(ctx.now_ms)
    except ValueError as exc:
        raise _refuse(s, f"DELETE FROM: {exc}") from None
    for path in s.paths:
        ctx.store.delete(str(path), start, end)
    return DONE


def flush(ctx: Context, s: Flush) -> Outcome:
    ctx.store.flush()
    return DONE


def _load_options(s: LoadTsFile, ctx: Context) -> tuple[bool, str]:
    verify, on_success = True, "none"
    for key, raw in s.options.items():
        value = raw.strip().strip("'\"").lower()
        if key == "verify" and value in ("true", "false"):
            verify = value == "true"
        elif key == "onsuccess" and value in ("delete", "none"):
            on_success = value
        elif key == "sglevel" and value.isdigit():
            level = ctx.store.config.default_storage_group_level
            if int(value) != level:
                raise _refuse(
                    s,
                    f"LOAD: sglevel={value} differs from the store's default_storage_group_level"
                    f"={level}; set that key in the node configuration instead",
                )
        else:
            raise _refuse(
                s,
                f"LOAD: option {key}={raw} is not understood (verify=true|false, "
                "onSuccess=delete|none, sglevel=<the store's level>)",
            )
    return verify, on_success


MAX_LOAD_SCAN = 10_000  # directory entries LOAD looks at before it gives up


def _tsfiles_under(s: LoadTsFile, directory: FsPath) -> list[FsPath]:
    """The ``.tsfile``s in `directory` and below (symbolic links not followed), sorted."""
    found, pending, seen = [], [directory], 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > MAX_LOAD_SCAN:
                    raise _refuse(
                        s,
                        f"LOAD: {directory} holds more than {MAX_LOAD_SCAN} entries; "
                        "give the directory of the TsFiles themselves",
                        str(directory),
                    )
                if entry.is_dir(follow_symlinks=False):
                    pending.append(FsPath(entry.path))
                elif entry.name.endswith(".tsfile") and entry.is_file():
                    found.append(FsPath(entry.path))
    return sorted(found)


def load_tsfile(ctx: Context, s: LoadTsFile) -> Outcome:
    verify, on_success = _load_options(s, ctx)
    refusal = check_load_path(ctx.node, s.path)
    if refusal is not None:
        raise _refuse(s, refusal)
    target = FsPath(s.path).expanduser()
    if target.is_dir():
        files = _tsfiles_under(s, target)
        if not files:
            raise _refuse(s, f"LOAD: the directory {target} holds no .tsfile", str(target))
    elif target.is_file():
        files = [target]
    else:
        raise _refuse(
            s, f"LOAD: {target} does not exist (give a TsFile or a directory)", str(target)
        )
    check_writes(ctx.store)  # like INSERT: 606 while a blocking pipe's backlog is full
    authorize_files(ctx, s, files)
    for file in files:
        ctx.store.load_tsfile(file, on_success=on_success, verify=verify)
    return DONE


HANDLERS: dict[type, Any] = {
    CreateDatabase: create_database,
    ShowDatabases: show_databases,
    CountDatabases: count_databases,
    DeleteDatabase: delete_database,
    CreateTimeseries: create_timeseries,
    CreateAlignedTimeseries: create_aligned_timeseries,
    DeleteTimeseries: delete_timeseries,
    ShowTimeseries: show_timeseries,
    ShowDevices: show_devices,
    CountTimeseries: count_timeseries,
    CountDevices: count_devices,
    Insert: insert,
    DeleteData: delete_data,
    Flush: flush,
    LoadTsFile: load_tsfile,
}
