"""IoTDB 1.3's plan-node request (type 100, ``TRANSFER_SCHEMA_PLAN``; 2.x names it
``TRANSFER_PLAN_NODE``) carrying a ``DeleteDataNode``: how a realtime deletion crosses a pipe.

The body is the node in plan-node format (facts from IoTDB 1.3's ``DeleteDataNode``,
``MeasurementPath``/``PartialPath`` and TsFile's ``Path`` serialisation)::

    i16  PlanNodeType DELETE_DATA (44)
    i32  number of paths, then each path as a MeasurementPath:
         byte  PathType (0 Measurement, 2 Partial)
         3 x   [byte present (0/1)] [String]   measurement, device, full path (tsfile Path)
         i32   node count, then each node as a String
         (MeasurementPath only:)
         byte  schema present; if 1: byte schema type (0 plain) + MeasurementSchema
               (String name, byte type, byte encoding, byte compressor, i32 props count or
               -1 / 0, then props as String pairs)
         byte  tags present; if 1: i32 count + String pairs
         byte  isUnderAlignedEntity
         String alias
    i64  start time, i64 end time (inclusive)
    String PlanNodeId
    i32  children count (0)

Strings are i32 byte length (-1 = null) + UTF-8. Only DELETE_DATA is understood here; any
other plan node is refused by the receiver as IoTDB's data receiver refuses what it cannot
execute.
"""

from __future__ import annotations

import attrs

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = ["DELETE_DATA", "DeleteDataNode", "decode_plan_node", "encode_delete_data_node"]

#: PlanNodeType.DELETE_DATA
DELETE_DATA = 44
_PATH_MEASUREMENT = 0
_PATH_PARTIAL = 2
_MAX_PATHS = 1 << 20


@attrs.frozen
class DeleteDataNode:
    """Delete the points of series matching each of `paths` with start <= time <= end."""

    paths: tuple[str, ...]
    start: int
    end: int
    plan_node_id: str = ""


def encode_delete_data_node(node: DeleteDataNode) -> bytes:
    w = BodyWriter()
    w.i16(DELETE_DATA)
    w.i32(len(node.paths))
    for path in node.paths:
        _write_measurement_path(w, path)
    w.i64(node.start)
    w.i64(node.end)
    w.string(node.plan_node_id)
    w.i32(0)
    return w.getvalue()


def _write_measurement_path(w: BodyWriter, path: str) -> None:
    nodes = _nodes(path)
    w.byte(_PATH_MEASUREMENT)
    w.byte(0)  # measurement: not set (a PartialPath made from a string)
    w.byte(0)  # device: not set
    w.byte(1)
    w.string(path)  # full path
    w.i32(len(nodes))
    for n in nodes:
        w.string(n)
    w.byte(0)  # no measurement schema
    w.byte(0)  # no tags
    w.byte(0)  # isUnderAlignedEntity = false
    w.string("")  # alias


def _nodes(path: str) -> list[str]:
    """The nodes of a path as IoTDB keeps them (a back-quoted node keeps its quotes)."""
    out, i, n = [], 0, len(path)
    start = 0
    while i < n:
        c = path[i]
        if c == "`":
            i += 1
            while i < n:
                if path[i] == "`":
                    if i + 1 < n and path[i + 1] == "`":
                        i += 2
                        continue
                    break
                i += 1
        elif c == ".":
            out.append(path[start:i])
            start = i + 1
        i += 1
    out.append(path[start:])
    return out


def decode_plan_node(body: bytes) -> DeleteDataNode:
    """A plan node's body; only DELETE_DATA is accepted (PipeProtocolError otherwise)."""
    r = BodyReader(body)
    node_type = r.i16("planNodeType")
    if node_type != DELETE_DATA:
        raise PipeProtocolError(
            f"plan node type {node_type} is not a DeleteDataNode ({DELETE_DATA}); pipecore "
            "executes only data deletions from plan nodes",
            "planNodeType",
        )
    count = r.count("pathCount", 5)
    if count > _MAX_PATHS:
        raise PipeProtocolError(f"{count} paths", "pathCount")
    paths = tuple(_read_path(r) for _ in range(count))
    start = r.i64("deleteStartTime")
    end = r.i64("deleteEndTime")
    plan_node_id = r.string("planNodeId") or ""
    r.i32("childrenCount")
    r.expect_end("DeleteDataNode")
    return DeleteDataNode(paths, start, end, plan_node_id)


def _optional_string(r: BodyReader, field: str) -> str | None:
    return r.string(field) if r.byte(field + ".present") else None


def _read_path(r: BodyReader) -> str:
    kind = r.byte("path.type")
    if kind not in (_PATH_MEASUREMENT, _PATH_PARTIAL):
        raise PipeProtocolError(f"path type {kind} in a DeleteDataNode", "path.type")
    _optional_string(r, "path.measurement")
    _optional_string(r, "path.device")
    full = _optional_string(r, "path.fullPath")
    nodes = [r.required_string("path.node") for _ in range(r.count("path.nodeCount", 4))]
    if kind == _PATH_MEASUREMENT:
        if r.byte("path.schema.present"):
            _skip_schema(r)
        if r.byte("path.tags.present"):
            r.string_map("path.tags")
        r.byte("path.isUnderAlignedEntity")
        r.string("path.alias")
    if full:
        return full
    if not nodes:
        raise PipeProtocolError("a path without nodes", "path.nodeCount")
    return ".".join(nodes)


def _skip_schema(r: BodyReader) -> None:
    schema_type = r.byte("path.schema.type")
    if schema_type != 0:
        raise PipeProtocolError(
            f"measurement schema type {schema_type} in a DeleteDataNode", "path.schema.type"
        )
    r.string("schema.name")
    r.byte("schema.type")
    r.byte("schema.encoding")
    r.byte("schema.compressor")
    props = r.i32("schema.props")
    for _ in range(max(0, props)):
        r.string("schema.props.key")
        r.string("schema.props.value")
