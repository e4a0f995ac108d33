"""IoTDB's schema-region snapshot as a pipe sends it (``TRANSFER_SCHEMA_SNAPSHOT_PIECE`` 101 /
``TRANSFER_SCHEMA_SNAPSHOT_SEAL`` 102): the history part of a schema pipe.

The pieces carry files like a TsFile's (``PipeTransferFilePieceReq``); the seal has the
``PipeTransferFileSealReqV2`` layout with the files ``[mtree.snapshot]`` or ``[mtree.snapshot,
tlog.txt.snapshot]`` and the parameters ``PathPattern`` (the pipe's pattern), ``Database`` and
``Type`` (the plan node types to apply, comma-separated: 19 series, 22 aligned series, 69, 53 /
72 template activations, 73 / 78 views). Layouts read from IoTDB 2.0.1's
``MemMTreeSnapshotUtil``, ``MeasurementSchema.serializeTo`` and ``TagLogFile``; checked against
the snapshot a real IoTDB sends (tests/interop/test_iotdb_region_schema.py).

``mtree.snapshot`` — u8 version (0), then the schema region's tree in pre-order, the root being
the database node (named by the database's last node)::

    u8 type
    0 internal, 1 database:        i32 childCount; istr name; i32 templateId; u8 useTemplate
    3 device, 4 database-device:   i32 childCount; istr name; i32 templateIdWithState;
                                   u8 useTemplate; u8 aligned (1, 0, -1 null)
    2 measurement:                 istr name; schema; istr alias; i64 tagOffset; u8 preDeleted
    5 logical view:                istr name; view schema; i64 tagOffset; u8 preDeleted
    6 table device:                i32 childCount; istr name; i32 attributePointer

    schema = istr name; u8 type; u8 encoding; u8 compressor; i32 propCount; props (istr, istr)

``tlog.txt.snapshot`` — at a measurement's tagOffset (-1: none) its tag map then its attribute
map (i32 count + pairs). A record that outgrew one block (IoTDB's ``tag_attribute_total_size``,
700 bytes by default) starts with i32 ``-blockCount`` and the i64 offsets of its other blocks;
its maps continue across the blocks.
"""

from __future__ import annotations

import struct

import attrs

from pipecore_storage.paths import join_path, split_path
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from .errors import PipeProtocolError
from .io import BodyReader

__all__ = [
    "MTREE_SNAPSHOT",
    "TAG_BLOCK_SIZE",
    "SchemaSnapshot",
    "decode_mtree_snapshot",
    "read_tag_record",
]

MTREE_SNAPSHOT = "mtree.snapshot"
TAG_BLOCK_SIZE = 700  # IoTDB's tag_attribute_total_size default
_INTERNAL, _DATABASE, _MEASUREMENT, _DEVICE, _DATABASE_DEVICE, _VIEW, _TABLE_DEVICE = range(7)
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


@attrs.frozen
class SchemaSnapshot:
    """What a schema-region snapshot holds: ``create_series`` / ``series_meta`` records (the
    metadata in the tag file only: `tag_offsets` say where) and the devices that use a
    template."""

    records: tuple[dict, ...]
    tag_offsets: tuple[tuple[int, int], ...]  # (index in records of its create_series, offset)
    template_devices: tuple[str, ...]


def _enum(enum_type, value: int, field: str) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        raise PipeProtocolError(f"snapshot: unknown {field} {value}", field) from None


def _raw(name: str) -> str:
    """A node name as IoTDB holds it (backquoted where needed) → the plain name."""
    if name.startswith("`"):
        try:
            return split_path(f"root.{name}")[-1]
        except ValueError:
            return name
    return name


def decode_mtree_snapshot(data: bytes, database: str) -> SchemaSnapshot:
    """The series of a schema region's ``mtree.snapshot`` (`database` is the seal's)."""
    r = BodyReader(data)
    version = r.byte("version")
    if version != 0:
        raise PipeProtocolError(f"mtree snapshot version {version} is not 0", "version")
    db_nodes = split_path(database)
    records: list[dict] = []
    offsets: list[tuple[int, int]] = []
    templates: list[str] = []
    # stack of (path nodes, children left, aligned) of the open nodes
    stack: list[list] = []
    first = True
    while first or stack:
        kind = r.byte("node type")
        children = 0
        aligned = False
        if kind in (_INTERNAL, _DATABASE, _DEVICE, _DATABASE_DEVICE, _TABLE_DEVICE):
            children = r.count("childCount", 1)
            name = r.required_string("name")
            if kind == _TABLE_DEVICE:
                raise PipeProtocolError("snapshot of a table-model region", "node type")
            r.i32("templateId")
            use_template = r.bool("useTemplate")
            if kind in (_DEVICE, _DATABASE_DEVICE):
                aligned = r.byte("aligned") == 1
        elif kind in (_MEASUREMENT, _VIEW):
            name = r.required_string("name")
        else:
            raise PipeProtocolError(f"snapshot: unknown node type {kind}", "node type")
        if first:
            nodes = list(db_nodes)
            first = False
        else:
            parent = stack[-1]
            parent[1] -= 1
            nodes = [*parent[0], _raw(name)]
        if kind == _MEASUREMENT:
            device_nodes = stack[-1][0]
            schema_name = r.required_string("schema.name")
            data_type = _enum(TSDataType, r.byte("schema.type"), "dataType")
            encoding = _enum(TSEncoding, r.byte("schema.encoding"), "encoding")
            compression = _enum(CompressionType, r.byte("schema.compressor"), "compressor")
            props = []
            for _ in range(max(0, r.i32("schema.props"))):
                props.append([r.required_string("prop key"), r.string("prop value") or ""])
            alias = r.string("alias")
            offset = r.i64("tagOffset")
            pre_deleted = r.bool("preDeleted")
            del schema_name
            if not pre_deleted:
                device = join_path(device_nodes)
                measurement = nodes[-1]
                if offset >= 0:
                    offsets.append((len(records), offset))
                records.append(
                    {
                        "op": "create_series",
                        "device": device,
                        "measurement": measurement,
                        "type": data_type,
                        "encoding": encoding,
                        "compression": compression,
                        "aligned": bool(stack[-1][2]),
                        "props": props,
                    }
                )
                if alias is not None:
                    records.append(
                        {
                            "op": "series_meta",
                            "device": device,
                            "measurement": measurement,
                            "alias": alias,
                            "tags": [],
                            "attributes": [],
                        }
                    )
        elif kind == _VIEW:
            raise PipeProtocolError(
                f"snapshot holds the logical view {join_path(nodes)}: pipecore has no views",
                "view",
            )
        else:
            if use_template and kind in (_DEVICE, _DATABASE_DEVICE):
                templates.append(join_path(nodes))
            stack.append([nodes, children, aligned])
        while stack and stack[-1][1] == 0:
            stack.pop()
    r.expect_end("mtree snapshot")
    return SchemaSnapshot(tuple(records), tuple(offsets), tuple(templates))


def read_tag_record(
    data: bytes, offset: int, block: int = TAG_BLOCK_SIZE
) -> tuple[list[list[str]], list[list[str]]]:
    """The tags and attributes stored at `offset` of a tag file (``tlog.txt``)."""
    if offset < 0 or offset + 4 > len(data):
        raise PipeProtocolError(f"tag offset {offset} is outside the tag file", "tagOffset")
    first = _I32.unpack_from(data, offset)[0]
    if first < -1:
        count = -first
        positions = [offset]
        for i in range(1, count):
            at = offset + 4 + (i - 1) * 8
            if at + 8 > len(data) or at + 8 > offset + block:
                raise PipeProtocolError("tag record's block list is cut off", "tagOffset")
            positions.append(_I64.unpack_from(data, at)[0])
        joined = b"".join(data[p : p + block] for p in positions)
        buf, start = joined, 4 + (count - 1) * 8
    else:
        buf, start = data[offset : offset + block], 0
    r = BodyReader(buf, start)
    return _map(r, "tags"), _map(r, "attributes")


def _map(r: BodyReader, field: str) -> list[list[str]]:
    at = r.pos
    if r.i32(field) == -1:
        return []
    r.pos = at
    return [[k, v or ""] for k, v in r.string_map(field).items()]
