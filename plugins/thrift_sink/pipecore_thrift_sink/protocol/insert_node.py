"""IoTDB's InsertNode plan nodes (types 13/14/15), as a real IoTDB sender sends realtime data.

Layout of a node: ``[i16 PlanNodeType][attributes][PlanNodeId String][i32 childrenCount=0]``
(reference §3.5). They arrive alone (type 2 bodies) and inside batches (type 6), where they are
self-delimiting. `insert_node_to_tablets` turns any of them into `Tablet`s; the encoders exist
so tests (and a sender that wants to) can build bodies exactly as IoTDB does.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import (
    IOTDB_DEFAULT_COMPRESSION,
    IOTDB_DEFAULT_ENCODINGS,
    TSDataType,
)

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter
from .tablet import (
    column_bytes,
    data_type_of,
    pack_bitmap,
    placeholder_column,
    read_fixed_column,
    read_measurement_schema,
    unpack_bitmap,
    write_measurement_schema,
)

__all__ = [
    "TYPE_NULL",
    "TYPE_RAW_STRING",
    "InsertNode",
    "InsertRowNode",
    "InsertRowsNode",
    "InsertTabletNode",
    "PlanNodeType",
    "convert_raw_string",
    "decode_insert_node",
    "encode_insert_node",
    "infer_raw_string",
    "insert_node_to_tablets",
    "read_insert_node",
    "rows_to_tablets",
    "write_insert_node",
]

TYPE_RAW_STRING = -1  # a String follows; its data type is to be inferred
TYPE_NULL = -2  # a null value, nothing follows
_I32 = struct.Struct(">i")


class PlanNodeType:
    """The plan-node type shorts a pipe receiver meets (only 13–15 are accepted)."""

    INSERT_TABLET = 13
    INSERT_ROW = 14
    INSERT_ROWS = 15
    INSERT_ROWS_OF_ONE_DEVICE = 16
    INSERT_MULTI_TABLET = 17


@attrs.frozen
class InsertTabletNode:
    """An InsertTabletNode: a tablet; `has_schema` — full measurement schemas were sent."""

    tablet: Tablet
    has_schema: bool = False
    plan_node_id: str = ""


@attrs.frozen
class InsertRowNode:
    """One row of one device. Per measurement: its data type and value, where

    * type None and value None — a null (TYPE_NULL);
    * type None and a `str` value — a raw string whose type is to be inferred
      (TYPE_RAW_STRING, sent by IoTDB for rows written as strings);
    * otherwise a value of that type (bool, int, float, str, or bytes for BLOB).

    `schemas` holds the measurement schemas when the sender included them.
    """

    time: int
    device: str
    measurements: tuple[str, ...]
    data_types: tuple[TSDataType | None, ...]
    values: tuple[Any, ...]
    schemas: tuple[MeasurementSchema, ...] | None = None
    need_infer_type: bool = False
    aligned: bool = False
    plan_node_id: str = ""


@attrs.frozen
class InsertRowsNode:
    """Several rows (any devices); `indexes` are the rows' positions in the original request."""

    rows: tuple[InsertRowNode, ...]
    indexes: tuple[int, ...] = ()
    plan_node_id: str = ""


InsertNode = InsertTabletNode | InsertRowNode | InsertRowsNode


# ---------------------------------------------------------------- decoding


def decode_insert_node(body: bytes) -> InsertNode:
    """A type-2 body: one node; its trailing children count may be present (0) or absent."""
    r = BodyReader(body)
    node = read_insert_node(r, "insertNode", children=False)
    if r.remaining == 4:
        _read_children(r, "insertNode")
    r.expect_end("insert node body")
    return node


def read_insert_node(r: BodyReader, field: str = "insertNode", children: bool = True) -> InsertNode:
    """Read one node at the reader's position (with its children count when `children`)."""
    at = r.pos
    node_type = r.i16(f"{field}.type")
    node: InsertNode
    if node_type == PlanNodeType.INSERT_TABLET:
        node = _read_insert_tablet(r, field)
    elif node_type == PlanNodeType.INSERT_ROW:
        row = _read_row(r, field)
        node = attrs.evolve(row, plan_node_id=r.string(f"{field}.planNodeId") or "")
    elif node_type == PlanNodeType.INSERT_ROWS:
        node = _read_insert_rows(r, field)
    elif node_type in (PlanNodeType.INSERT_ROWS_OF_ONE_DEVICE, PlanNodeType.INSERT_MULTI_TABLET):
        raise r.error(f"{field}.type", f"plan node type {node_type} is not accepted by a pipe", at)
    else:
        raise r.error(f"{field}.type", f"{node_type} is not an insert plan node type", at)
    if children:
        _read_children(r, field)
    return node


def _read_children(r: BodyReader, field: str) -> None:
    at = r.pos
    n = r.i32(f"{field}.childrenCount")
    if n != 0:
        raise r.error(f"{field}.childrenCount", f"an insert node has no children, not {n}", at)


def _read_names(r: BodyReader, field: str) -> tuple[list[str], list[MeasurementSchema] | None]:
    n = r.count(f"{field}.measurementCount")
    if r.bool(f"{field}.hasSchema"):
        schemas = [read_measurement_schema(r, f"{field}.schemas[{i}]") for i in range(n)]
        return [s.name for s in schemas], schemas
    return [r.required_string(f"{field}.measurements[{i}]") for i in range(n)], None


def _read_insert_tablet(r: BodyReader, field: str) -> InsertTabletNode:
    start = r.base + r.pos
    device = r.required_string(f"{field}.devicePath")
    names, wire_schemas = _read_names(r, field)
    types = []
    for i in range(len(names)):
        at = r.pos
        types.append(data_type_of(r.byte(f"{field}.dataTypes[{i}]"), field, r.base + at))
    rows = r.count(f"{field}.rowCount", 8)
    times = r.array(">i8", rows, f"{field}.times").astype(np.int64)
    masks: list[np.ndarray | None] = [None] * len(names)
    if r.bool(f"{field}.hasBitmaps"):
        for i in range(len(names)):
            if r.bool(f"{field}.bitmaps[{i}]"):
                masks[i] = unpack_bitmap(r.view(rows // 8 + 1, f"{field}.bitmaps[{i}]"), rows)
    columns = []
    for name, dt in zip(names, types, strict=True):
        where = f"{field}.values[{name}]"
        if dt.is_binary:
            columns.append(_read_plain_binary_column(r, dt, rows, where))
        else:
            columns.append(read_fixed_column(r, dt, rows, where))
    aligned = r.bool(f"{field}.isAligned")
    schemas = [
        _schema_for(n, dt, wire_schemas, i)
        for i, (n, dt) in enumerate(zip(names, types, strict=True))
    ]
    try:
        tablet = Tablet(device, schemas, times, columns, masks, aligned)
    except ValueError as exc:
        raise PipeProtocolError(str(exc), field, start) from None
    plan_node_id = r.string(f"{field}.planNodeId") or ""
    return InsertTabletNode(tablet, wire_schemas is not None, plan_node_id)


def _schema_for(
    name: str, dt: TSDataType, wire: list[MeasurementSchema] | None, i: int
) -> MeasurementSchema:
    if wire is not None:
        return wire[i] if wire[i].data_type == dt else attrs.evolve(wire[i], data_type=dt)
    return default_schema(name, dt)


@functools.lru_cache(maxsize=8192)
def default_schema(name: str, dt: TSDataType) -> MeasurementSchema:
    """A series sent without its schema gets IoTDB's per-type defaults (auto-creation)."""
    return MeasurementSchema(name, dt, IOTDB_DEFAULT_ENCODINGS[dt], IOTDB_DEFAULT_COMPRESSION)


def _read_plain_binary_column(r: BodyReader, dt: TSDataType, rows: int, field: str) -> np.ndarray:
    """rowCount × (i32 length + bytes), no per-cell flag (InsertTabletNode values)."""
    data, pos, end = r.data, r.pos, r.end
    blob = dt is TSDataType.BLOB
    values: list[object] = []
    for i in range(rows):
        if pos + 4 > end:
            raise r.error(f"{field}[{i}]", "body ends inside a text column", pos)
        n = _I32.unpack_from(data, pos)[0]
        start = pos + 4
        pos = start + n
        if n < 0 or pos > end:
            raise r.error(
                f"{field}[{i}]", f"value length {n} with {end - start} bytes left", start - 4
            )
        raw = data[start:pos]
        values.append(raw if blob else raw.decode("utf-8", "surrogateescape"))
    r.pos = pos
    out = np.empty(rows, dtype=object)
    out[:] = values
    return out


def _read_value(r: BodyReader, dt: TSDataType, field: str) -> Any:
    if dt is TSDataType.BOOLEAN:
        return r.bool(field)
    if dt in (TSDataType.INT32, TSDataType.DATE):
        return r.i32(field)
    if dt in (TSDataType.INT64, TSDataType.TIMESTAMP):
        return r.i64(field)
    if dt is TSDataType.FLOAT:
        return r.f32(field)
    if dt is TSDataType.DOUBLE:
        return r.f64(field)
    raw = r.binary(field)
    return raw if dt is TSDataType.BLOB else raw.decode("utf-8", "surrogateescape")


def _read_row(r: BodyReader, field: str) -> InsertRowNode:
    time = r.i64(f"{field}.time")
    device = r.required_string(f"{field}.devicePath")
    names, schemas = _read_names(r, field)
    types: list[TSDataType | None] = []
    values: list[Any] = []
    for name in names:
        where = f"{field}.values[{name}]"
        at = r.pos
        code = r.byte(where)
        if code == TYPE_NULL:
            types.append(None)
            values.append(None)
        elif code == TYPE_RAW_STRING:
            types.append(None)
            values.append(r.string(where))
        else:
            dt = data_type_of(code, where, r.base + at)
            types.append(dt)
            values.append(_read_value(r, dt, where))
    need_infer = r.bool(f"{field}.isNeedInferType")
    aligned = r.bool(f"{field}.isAligned")
    return InsertRowNode(
        time,
        device,
        tuple(names),
        tuple(types),
        tuple(values),
        tuple(schemas) if schemas is not None else None,
        need_infer,
        aligned,
    )


def _read_insert_rows(r: BodyReader, field: str) -> InsertRowsNode:
    n = r.count(f"{field}.rowCount", 16)
    rows = tuple(_read_row(r, f"{field}.rows[{i}]") for i in range(n))
    indexes = tuple(int(i) for i in r.array(">i4", n, f"{field}.indexes"))
    return InsertRowsNode(rows, indexes, r.string(f"{field}.planNodeId") or "")


# ---------------------------------------------------------------- encoding


def encode_insert_node(node: InsertNode) -> bytes:
    """The body of a type-2 request: the node as IoTDB serialises it (children count included)."""
    w = BodyWriter()
    write_insert_node(w, node)
    return w.getvalue()


def write_insert_node(w: BodyWriter, node: InsertNode) -> None:
    if isinstance(node, InsertTabletNode):
        w.i16(PlanNodeType.INSERT_TABLET)
        _write_insert_tablet(w, node)
    elif isinstance(node, InsertRowNode):
        w.i16(PlanNodeType.INSERT_ROW)
        _write_row(w, node)
    else:
        w.i16(PlanNodeType.INSERT_ROWS)
        w.i32(len(node.rows))
        for row in node.rows:
            _write_row(w, row)
        indexes = node.indexes or tuple(range(len(node.rows)))
        w.raw(np.asarray(indexes, dtype=">i4").tobytes())
    w.string(node.plan_node_id)
    w.i32(0)


def _write_names(w: BodyWriter, names: Sequence[str], schemas: Sequence[MeasurementSchema] | None):
    w.i32(len(names))
    w.bool(schemas is not None)
    if schemas is not None:
        for schema in schemas:
            write_measurement_schema(w, schema)
    else:
        for name in names:
            w.string(name)


def _write_insert_tablet(w: BodyWriter, node: InsertTabletNode) -> None:
    t = node.tablet
    rows = t.row_count
    w.string(t.device)
    _write_names(w, t.measurements, t.schemas if node.has_schema else None)
    for schema in t.schemas:
        w.byte(int(schema.data_type))
    w.i32(rows)
    w.raw(t.timestamps.astype(">i8").tobytes())
    if any(m is not None for m in t.null_masks):
        w.bool(True)
        for mask in t.null_masks:
            w.bool(mask is not None)
            if mask is not None:
                w.raw(pack_bitmap(mask, rows // 8 + 1))
    else:
        w.bool(False)
    for schema, column, mask in zip(t.schemas, t.columns, t.null_masks, strict=True):
        dt = schema.data_type
        if not dt.is_binary:
            w.raw(column_bytes(dt, column))
            continue
        nulls = mask.tolist() if mask is not None else [False] * rows
        for value, null in zip(column.tolist(), nulls, strict=True):
            w.binary(b"" if null else _binary(dt, value))
    w.bool(t.aligned)


def _binary(dt: TSDataType, value: Any) -> bytes:
    return bytes(value) if dt is TSDataType.BLOB else str(value).encode("utf-8", "surrogateescape")


def _write_row(w: BodyWriter, row: InsertRowNode) -> None:
    w.i64(row.time)
    w.string(row.device)
    _write_names(w, row.measurements, row.schemas)
    for dt, value in zip(row.data_types, row.values, strict=True):
        if dt is None:
            if value is None:
                w.byte(TYPE_NULL)
            else:
                w.byte(TYPE_RAW_STRING)
                w.string(str(value))
            continue
        if value is None:
            w.byte(TYPE_NULL)
            continue
        w.byte(int(dt))
        _write_value(w, dt, value)
    w.bool(row.need_infer_type)
    w.bool(row.aligned)


def _write_value(w: BodyWriter, dt: TSDataType, value: Any) -> None:
    if dt is TSDataType.BOOLEAN:
        w.bool(bool(value))
    elif dt in (TSDataType.INT32, TSDataType.DATE):
        w.i32(int(value))
    elif dt in (TSDataType.INT64, TSDataType.TIMESTAMP):
        w.i64(int(value))
    elif dt is TSDataType.FLOAT:
        w.f32(float(value))
    elif dt is TSDataType.DOUBLE:
        w.f64(float(value))
    else:
        w.binary(_binary(dt, value))


# ---------------------------------------------------------------- to tablets


def infer_raw_string(text: str) -> tuple[TSDataType, Any]:
    """IoTDB 1.3's default type inference for a raw string value.

    ``true``/``false`` (any case) → BOOLEAN; an integer or a decimal number, ``NaN`` →
    DOUBLE (``integer_string_infer_type`` / ``floating_string_infer_type`` /
    ``nan_string_infer_type`` default to DOUBLE); anything else → TEXT.
    """
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return TSDataType.BOOLEAN, stripped.lower() == "true"
    try:
        number = float(stripped)
    except ValueError:
        return TSDataType.TEXT, text
    if math.isinf(number) and stripped.lower().lstrip("+-") not in ("infinity", "inf"):
        return TSDataType.TEXT, text
    return TSDataType.DOUBLE, number


def convert_raw_string(text: str, dt: TSDataType, where: str = "value") -> Any:
    """A raw string as a value of `dt` (the type of an existing series)."""
    try:
        if dt is TSDataType.BOOLEAN:
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return low in ("true", "1")
        if dt in (TSDataType.INT32, TSDataType.INT64, TSDataType.DATE, TSDataType.TIMESTAMP):
            return int(text.strip())
        if dt in (TSDataType.FLOAT, TSDataType.DOUBLE):
            return float(text.strip())
        if dt is TSDataType.BLOB:
            return text.encode("utf-8", "surrogateescape")
        return text
    except ValueError:
        raise PipeProtocolError(f"{text!r} cannot be read as {dt.name}", where) from None


Infer = Callable[[str], tuple[TSDataType, Any]]


def insert_node_to_tablets(node: InsertNode, infer: Infer = infer_raw_string) -> list[Tablet]:
    """The tablets holding exactly the node's data (rows in the node's order)."""
    if isinstance(node, InsertTabletNode):
        return [node.tablet]
    if isinstance(node, InsertRowNode):
        return rows_to_tablets([node], infer)
    return rows_to_tablets(node.rows, infer)


class _Group:
    """Rows of one device being gathered into one tablet."""

    def __init__(self, device: str, aligned: bool) -> None:
        self.device = device
        self.aligned = aligned
        self.times: list[int] = []
        self.columns: dict[str, tuple[MeasurementSchema, dict[int, Any]]] = {}

    def conflicts(self, cells: list[tuple[MeasurementSchema, Any]]) -> bool:
        cols = self.columns
        return any(s.name in cols and cols[s.name][0].data_type != s.data_type for s, _ in cells)

    def add(self, time: int, cells: list[tuple[MeasurementSchema, Any]]) -> None:
        index = len(self.times)
        self.times.append(time)
        for schema, value in cells:
            self.columns.setdefault(schema.name, (schema, {}))[1][index] = value

    def tablet(self) -> Tablet:
        rows = len(self.times)
        schemas, columns, masks = [], [], []
        for schema, cells in self.columns.values():
            column = placeholder_column(schema.data_type, rows)
            mask = np.ones(rows, np.bool_)
            for index, value in cells.items():
                if value is not None:
                    column[index] = value
                    mask[index] = False
            schemas.append(schema)
            columns.append(column)
            masks.append(mask)
        return Tablet(self.device, schemas, self.times, columns, masks, self.aligned)


def _cells(row: InsertRowNode, infer: Infer) -> list[tuple[MeasurementSchema, Any]]:
    cells = []
    for i, name in enumerate(row.measurements):
        dt, value = row.data_types[i], row.values[i]
        wire = row.schemas[i] if row.schemas is not None else None
        if dt is None and value is not None:  # a raw string
            if wire is not None:
                dt = wire.data_type
                value = convert_raw_string(value, dt, f"{row.device}.{name}")
            else:
                dt, value = infer(value)
        elif dt is None:  # a null: keeps its column only when the type is known
            if wire is None:
                continue
            dt = wire.data_type
        schema = wire if wire is not None and wire.data_type == dt else default_schema(name, dt)
        cells.append((schema, value))
    return cells


def rows_to_tablets(rows: Sequence[InsertRowNode], infer: Infer = infer_raw_string) -> list[Tablet]:
    """Rows gathered into one tablet per device (and alignment), in first-seen order.

    A measurement whose type differs from an earlier row's of the same device starts a new
    tablet for that device, so no value is converted or lost; later rows stay later.
    """
    open_groups: dict[tuple[str, bool], _Group] = {}
    done: list[_Group] = []
    for row in rows:
        cells = _cells(row, infer)
        key = (row.device, row.aligned)
        group = open_groups.get(key)
        if group is None or group.conflicts(cells):
            group = _Group(row.device, row.aligned)
            open_groups[key] = group
            done.append(group)
        group.add(row.time, cells)
    return [g.tablet() for g in done]
