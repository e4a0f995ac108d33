"""IoTDB's ``CreateTimeSeriesNode`` (plan node type 19, CREATE_TIME_SERIES) in a
``TRANSFER_SCHEMA_PLAN`` request (type 100) — how IoTDB 1.3's DataNode sends a realtime
``CREATE TIMESERIES`` of a non-aligned series. Layout read from IoTDB's
CreateTimeSeriesNode.serializeAttributes and PlanNode.serialize; a real IoTDB 2.0.1 receiver
executes what `encode_create_timeseries` writes (tests/interop/test_iotdb_schema.py)::

    i16  planNodeType            19 = CREATE_TIME_SERIES
    istr fullPath                (i32 length + UTF-8; the series' full path)
    u8   dataType                TSDataType ordinal
    u8   encoding                TSEncoding ordinal
    u8   compressor              CompressionType serialize value
    u8   alias flag (1: istr alias follows)
    i8   props label             -1 null, 0 empty, 1: map follows
    i8   tags label, map         (same)
    i8   attributes label, map   (same)
    istr planNodeId
    i32  childCount              0

(a map: i32 count, count × (istr key, istr value).)
"""

from __future__ import annotations

from pipecore_storage.paths import join_path, split_path
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = ["CREATE_TIME_SERIES", "decode_create_timeseries", "encode_create_timeseries"]

CREATE_TIME_SERIES = 19


def _map(w: BodyWriter, pairs: list | tuple | None) -> None:
    if pairs is None:
        w.byte(-1)
    elif not pairs:
        w.byte(0)
    else:
        w.byte(1)
        w.string_map({str(k): str(v) for k, v in pairs})


def encode_create_timeseries(create: dict, meta: dict | None = None, node_id: str = "") -> bytes:
    """The node for a ``create_series`` record of a non-aligned series (and its
    ``series_meta`` record: alias, tags, attributes)."""
    if create.get("aligned"):
        raise ValueError("an aligned series is a CreateAlignedTimeSeriesNode")
    w = BodyWriter()
    w.i16(CREATE_TIME_SERIES)
    w.string(f"{create['device']}.{join_path([create['measurement']])}")
    w.byte(int(TSDataType[create["type"]]))
    w.byte(int(TSEncoding[create["encoding"]]))
    w.byte(int(CompressionType[create["compression"]]))
    alias = meta.get("alias") if meta else None
    w.byte(0 if alias is None else 1)
    if alias is not None:
        w.string(alias)
    _map(w, create.get("props") or [])
    _map(w, (meta or {}).get("tags") or [])
    _map(w, (meta or {}).get("attributes") or [])
    w.string(node_id)
    w.i32(0)
    return w.getvalue()


def _read_map(r: BodyReader, field: str) -> list[list[str]]:
    label = r.byte(f"{field} label")
    if label != 1:
        return []
    return [[k, v or ""] for k, v in r.string_map(field).items()]


def _enum(enum_type, value: int, field: str):
    try:
        return enum_type(value).name
    except ValueError:
        raise PipeProtocolError(f"unknown {field} {value}", field) from None


def decode_create_timeseries(body: bytes) -> list[dict]:
    """The node as the store's schema records: ``create_series`` and, when it has an alias,
    tags or attributes, ``series_meta``."""
    r = BodyReader(body)
    kind = r.i16("planNodeType")
    if kind != CREATE_TIME_SERIES:
        raise PipeProtocolError(f"plan node type {kind} is not CREATE_TIME_SERIES (19)", "type")
    path = r.required_string("path")
    try:
        nodes = split_path(path)
    except ValueError as exc:
        raise PipeProtocolError(f"illegal path {path!r}: {exc}", "path") from None
    if len(nodes) < 3:
        raise PipeProtocolError(f"illegal timeseries path {path!r}", "path")
    device, measurement = join_path(nodes[:-1]), nodes[-1]
    data_type = _enum(TSDataType, r.byte("dataType"), "dataType")
    encoding = _enum(TSEncoding, r.byte("encoding"), "encoding")
    compression = _enum(CompressionType, r.byte("compressor"), "compressor")
    alias = r.string("alias") if r.byte("alias flag") == 1 else None
    props = _read_map(r, "props")
    tags = _read_map(r, "tags")
    attributes = _read_map(r, "attributes")
    create = {
        "op": "create_series",
        "device": device,
        "measurement": measurement,
        "type": data_type,
        "encoding": encoding,
        "compression": compression,
        "aligned": False,
        "props": props,
    }
    if alias is None and not tags and not attributes:
        return [create]
    meta = {
        "op": "series_meta",
        "device": device,
        "measurement": measurement,
        "alias": alias,
        "tags": tags,
        "attributes": attributes,
    }
    return [create, meta]
