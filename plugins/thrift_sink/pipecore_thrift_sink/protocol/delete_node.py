"""IoTDB's realtime deletion on the pipe: a ``DeleteDataNode`` plan node in a
``TRANSFER_SCHEMA_PLAN`` request (type 100; `PipeTransferPlanNodeReq`).

A real IoTDB 2.0.1 sends every ``DELETE FROM`` a pipe captures (``source.inclusion`` with
``data.delete``) this way; the layout below was read from its classes (PlanNode.serialize,
DeleteDataNode.serializeAttributes, PartialPath/Path.serializeWithoutType) and checked against
the bytes it sends::

    i16  planNodeType            44 = DELETE_DATA
    i32  pathCount
    pathCount × path:
        u8   pathType            2 = PartialPath (a pattern), 0 = MeasurementPath (one series)
        u8 + istr  measurement   (flag 0 = null, 1 = present)
        u8 + IDeviceID           (flag; uvar segment count, each a zigzag-varint string)
        u8 + istr  fullPath
        i32 nodeCount, nodeCount × istr
        MeasurementPath only:
        u8 + schema              (flag; u8 schema type 0, istr name, u8 type, u8 encoding,
                                  u8 compression, i32 prop count, count × (istr, istr))
        u8 + tag map             (flag; i32 count, count × (istr, istr))
        u8   isUnderAlignedEntity, istr alias
    i64  deleteStartTime, i64 deleteEndTime
    istr planNodeId
    i32  childCount              0

(`istr` = i32 length + UTF-8.) Other plan nodes (schema changes) are not decoded.
"""

from __future__ import annotations

import attrs

from pipecore_storage.paths import join_path, split_path
from pipecore_storage.tsfile._bytes import ByteReader

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = ["DELETE_DATA", "DeleteDataNode", "decode_delete_node", "encode_delete_node", "plan_type"]

DELETE_DATA = 44
_PARTIAL_PATH = 2
_MEASUREMENT_PATH = 0


@attrs.frozen
class DeleteDataNode:
    patterns: tuple[str, ...]
    start: int
    end: int
    node_id: str = ""


def plan_type(body: bytes) -> int:
    """The plan node type of a TRANSFER_SCHEMA_PLAN body."""
    return BodyReader(body).i16("planNodeType")


def decode_delete_node(body: bytes) -> DeleteDataNode:
    r = BodyReader(body)
    kind = r.i16("planNodeType")
    if kind != DELETE_DATA:
        raise PipeProtocolError(f"plan node type {kind} is not DELETE_DATA (44)", "planNodeType")
    n = r.count("pathList", 5)
    patterns = []
    for _ in range(n):
        path_type = r.byte("pathType")
        if path_type not in (_PARTIAL_PATH, _MEASUREMENT_PATH):
            raise PipeProtocolError(
                f"path type {path_type} is neither a PartialPath (2) nor a MeasurementPath (0)",
                "pathList",
            )
        if r.byte("measurement flag"):
            r.string("measurement")
        if r.byte("device flag"):
            br = ByteReader(r.data, "DeleteDataNode", r.pos)
            try:  # the device is the path's nodes again: skip it
                _skip_device_id(br)
            except Exception as exc:  # CorruptFileError from the bounded reader
                raise PipeProtocolError(str(exc), "device") from None
            r.pos = br.pos
        if r.byte("fullPath flag"):
            r.string("fullPath")
        nodes = [r.required_string("node") for _ in range(r.count("nodes", 4))]
        if path_type == _MEASUREMENT_PATH:
            _skip_measurement_extras(r)
        patterns.append(".".join(nodes))  # IoTDB's nodes keep their backquotes
    start = r.i64("deleteStartTime")
    end = r.i64("deleteEndTime")
    node_id = r.string("planNodeId") or ""
    return DeleteDataNode(tuple(patterns), start, end, node_id)


def _skip_measurement_extras(r: BodyReader) -> None:
    if r.byte("schema flag"):
        kind = r.byte("schema type")
        if kind != 0:
            raise PipeProtocolError(f"measurement schema type {kind} is not supported", "schema")
        r.string("schema.name")
        r.take(3, "schema type/encoding/compression")
        for _ in range(max(0, r.i32("schema.props"))):
            r.string("prop key")
            r.string("prop value")
    if r.byte("tag map flag"):
        for _ in range(max(0, r.i32("tags"))):
            r.string("tag key")
            r.string("tag value")
    r.byte("isUnderAlignedEntity")
    r.string("alias")


def _skip_device_id(br: ByteReader) -> None:
    for _ in range(br.uvar("segment count")):
        br.vstr("segment")


def encode_delete_node(node: DeleteDataNode) -> bytes:
    """The body IoTDB's receiver decodes (measurement, device and full path left null). A
    path without a wildcard (one series) goes as a MeasurementPath, as IoTDB sends it (schema,
    tags and alias null): IoTDB 2.0.1's receiver casts such a path to MeasurementPath and
    answers a PartialPath with a ClassCastException (1107)."""
    w = BodyWriter()
    w.i16(DELETE_DATA)
    w.i32(len(node.patterns))
    for pattern in node.patterns:
        nodes = _split(pattern)
        one_series = not any("*" in n for n in nodes)
        w.byte(_MEASUREMENT_PATH if one_series else _PARTIAL_PATH)
        w.byte(0)
        w.byte(0)
        w.byte(0)
        w.i32(len(nodes))
        for part in nodes:
            w.string(part)
        if one_series:
            w.byte(0)  # schema
            w.byte(0)  # tag map
            w.byte(0)  # isUnderAlignedEntity
            w.string(None)  # alias
    w.i64(node.start)
    w.i64(node.end)
    w.string(node.node_id)
    w.i32(0)
    return w.getvalue()


def _split(pattern: str) -> list[str]:
    """The nodes as IoTDB holds them: wildcards bare, other nodes backquoted where needed."""
    return [n if "*" in n else join_path([n]) for n in split_path(pattern, allow_wildcards=True)]
