"""IoTDB 2.x's data requests (types 10, 11, 13) and the conversion of pipecore's 1.3 requests.

Facts read from IoTDB 2.0.1-beta's classes (``PipeTransferTabletRawReqV2``,
``PipeTransferTabletInsertNodeReqV2``, ``PipeTransferTabletBatchReqV2``, tsfile 2.0.1's
``Tablet.serialize``):

* type 11 (TRANSFER_TABLET_RAW_V2): tsfile 2.x tablet, isAligned byte, String database;
* type 10 (TRANSFER_TABLET_INSERT_NODE_V2): InsertNode (with its children count), String
  database;
* type 13 (TRANSFER_TABLET_BATCH_V2): i32 n × (i32 length + WAL-entry bytes + String
  database), i32 n × (InsertNode + String database), i32 n × (2.x tablet + isAligned +
  String database).

The database is null (i32 -1) for the tree model; a named database means table-model data,
which pipecore does not hold, so it is refused. A 2.x sender sends only these types for data;
a 2.x receiver reads tsfile 2.x tablets in types 3 and 6 as well, so pipecore's sink sends
the 2.x types to it (`to_iotdb2_request`) — and types 3/6 with 1.x tablets to IoTDB 1.3 and
to pipecore.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from pipecore_storage.tablet import Tablet

from .batch import decode_tablet_batch
from .errors import PipeProtocolError
from .insert_node import InsertNode, read_insert_node
from .io import BodyReader, BodyWriter
from .request import PipeRequestType
from .tablet import decode_tablet_raw, read_tablet, write_tablet

__all__ = [
    "TabletBatchV2",
    "decode_insert_node_v2",
    "decode_tablet_batch_v2",
    "decode_tablet_raw_v2",
    "encode_tablet_batch_v2",
    "encode_tablet_raw_v2",
    "probe_body",
    "to_iotdb2_request",
]


def _tree_only(r: BodyReader, field: str) -> None:
    at = r.pos
    database = r.string(field)
    if database is not None:
        raise r.error(
            field,
            f"table-model data (database {database!r}) is not supported; pipecore holds "
            "tree-model series only",
            at,
        )


def encode_tablet_raw_v2(tablet: Tablet) -> bytes:
    """A type-11 body of a tree-model tablet (database null)."""
    w = BodyWriter()
    write_tablet(w, tablet, categories=True)
    w.bool(tablet.aligned)
    w.string(None)
    return w.getvalue()


def decode_tablet_raw_v2(body: bytes) -> Tablet:
    r = BodyReader(body)
    tablet = read_tablet(r, categories=True)
    tablet.aligned = r.bool("tablet.isAligned")
    _tree_only(r, "tablet.databaseName")
    r.expect_end("tablet raw v2 body")
    return tablet


def decode_insert_node_v2(body: bytes) -> InsertNode:
    r = BodyReader(body)
    node = read_insert_node(r, "insertNode", children=True)
    _tree_only(r, "insertNode.databaseName")
    r.expect_end("insert node v2 body")
    return node


@attrs.frozen
class TabletBatchV2:
    """A decoded type-13 body (`binary_items`: WAL-entry buffers, not decoded by pipecore)."""

    binary_items: tuple[bytes, ...] = ()
    insert_nodes: tuple[InsertNode, ...] = ()
    tablets: tuple[Tablet, ...] = ()


def decode_tablet_batch_v2(body: bytes) -> TabletBatchV2:
    r = BodyReader(body)
    n = r.count("batch.binaryCount", 8)
    binary = []
    for i in range(n):
        binary.append(r.binary(f"batch.binary[{i}]"))
        _tree_only(r, f"batch.binary[{i}].databaseName")
    n = r.count("batch.insertNodeCount", 6)
    nodes = []
    for i in range(n):
        nodes.append(read_insert_node(r, f"batch.insertNodes[{i}]", children=True))
        _tree_only(r, f"batch.insertNodes[{i}].databaseName")
    n = r.count("batch.tabletCount", 12)
    tablets = []
    for i in range(n):
        tablet = read_tablet(r, f"batch.tablets[{i}]", categories=True)
        tablet.aligned = r.bool(f"batch.tablets[{i}].isAligned")
        _tree_only(r, f"batch.tablets[{i}].databaseName")
        tablets.append(tablet)
    r.expect_end("tablet batch v2 body")
    return TabletBatchV2(tuple(binary), tuple(nodes), tuple(tablets))


def encode_tablet_batch_v2(tablets: Iterable[Tablet]) -> bytes:
    """A type-13 body holding tree-model tablets only."""
    w = BodyWriter()
    w.i32(0)
    w.i32(0)
    items = list(tablets)
    w.i32(len(items))
    for tablet in items:
        write_tablet(w, tablet, categories=True)
        w.bool(tablet.aligned)
        w.string(None)
    return w.getvalue()


def probe_body() -> bytes:
    """An empty type-11 tablet: a 2.x receiver takes it (nothing to write), IoTDB 1.3 answers
    "unknown request type" — how pipecore's sink tells them apart after the handshake."""
    return encode_tablet_raw_v2(Tablet.empty("root.__pipecore_probe", []))


def to_iotdb2_request(type_: int, body: bytes) -> tuple[int, bytes]:
    """Re-write a type-3 or type-6 request (1.x tablets) as IoTDB 2.x's type 11 or 13; any
    other request is returned as it is."""
    if type_ == PipeRequestType.TRANSFER_TABLET_RAW:
        return PipeRequestType.TRANSFER_TABLET_RAW_V2, encode_tablet_raw_v2(decode_tablet_raw(body))
    if type_ == PipeRequestType.TRANSFER_TABLET_BATCH:
        batch = decode_tablet_batch(body)
        if batch.binary_items or batch.insert_nodes:
            raise PipeProtocolError(
                "only a batch of tablets can be re-written for IoTDB 2.x", "batch", 0
            )
        return PipeRequestType.TRANSFER_TABLET_BATCH_V2, encode_tablet_batch_v2(batch.tablets)
    return type_, body
