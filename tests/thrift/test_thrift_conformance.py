"""Conformance: IoTDB's own generated thrift client (`apache-iotdb`,
``iotdb.thrift.rpc.IClientRPCService.Client``) talks to a serving pipecore node with request
bodies written here from the reference's byte layouts (tests/iotdb_wire.py, plain `struct`),
and SELECT on the node shows what landed. The TsFile comes from the official `tsfile` writer.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from iotdb.thrift.rpc.IClientRPCService import Client
from iotdb.thrift.rpc.ttypes import TPipeTransferReq
from iotdb_wire import (
    f32,
    f64,
    i32,
    i64,
    insert_row_node,
    insert_rows_node,
    insert_tablet_node,
    row_fields,
    string,
    string_map,
    tablet_raw,
)
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from pipecore import Node

HANDSHAKE_V1, HANDSHAKE_V2 = 1, 51
INSERT_NODE, TABLET_RAW, PIECE, SEAL, BATCH = 2, 3, 4, 5, 6
INT32, INT64, FLOAT, DOUBLE, TEXT, BOOLEAN = 1, 2, 3, 4, 5, 0


@pytest.fixture
def served(tmp_path: Path):
    with Node.open(tmp_path / "node") as node:
        _host, port = node.serve("127.0.0.1", 0)
        yield node, port


def official_client(port: int):
    sock = TSocket.TSocket("127.0.0.1", port)
    transport = TTransport.TFramedTransport(sock)
    # the pure-Python protocol: IoTDB's accelerated codec drops the field -1 argument
    client = Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    return client, transport


def send(client, type_: int, body: bytes):
    return client.pipeTransfer(TPipeTransferReq(version=1, type=type_, body=body))


def rows(node: Node, sql: str) -> list[tuple]:
    """A SELECT's rows as ``(time, v1, ...)`` with Python values, None for nulls."""
    data = node.run(sql).data
    assert data is not None
    out = []
    for i in range(len(data)):
        cells = []
        for values, mask in zip(data.values, data.null_masks, strict=True):
            value = values[i]
            cells.append(
                None
                if mask is not None and mask[i]
                else getattr(value, "item", lambda v=value: v)()
            )
        time_ = [] if data.timestamps is None else [int(data.timestamps[i])]
        out.append((*time_, *cells))
    return out


def official_tsfile(path: Path) -> bytes:
    """A TsFile of root.conf.file (s1 INT64, 300 rows) from the official writer."""
    import tsfile as off

    writer = off.TsFileWriter(str(path))
    writer.register_device(
        off.DeviceSchema(
            "root.conf.file",
            [
                off.TimeseriesSchema(
                    "s1", off.TSDataType.INT64, off.TSEncoding.PLAIN, off.Compressor.UNCOMPRESSED
                )
            ],
        )
    )
    tablet = off.Tablet(["s1"], [off.TSDataType.INT64], 300)
    tablet.set_table_name("root.conf.file")
    for r in range(300):
        tablet.add_timestamp(r, 1000 + r)
        tablet.add_value_by_index(0, r, r * 7)
    writer.write_tablet(tablet)
    writer.close()
    return path.read_bytes()


def test_official_client_and_reference_bodies(served, tmp_path):
    node, port = served
    client, transport = official_client(port)
    try:
        # handshake v1 (§3.2): the precision as a String
        assert send(client, HANDSHAKE_V1, string("ms")).status.code == 200
        # handshake v2 (§3.3): the map, with a cluster id that is not ours
        params = {
            "timestampPrecision": "ms",
            "clusterID": "a-foreign-cluster",
            "username": "root",
            "password": "root",
            "convertOnTypeMismatch": "true",
            "loadTsFileStrategy": "sync",
        }
        assert send(client, HANDSHAKE_V2, string_map(params)).status.code == 200
        same = {**params, "clusterID": node.cluster_id}
        refused = send(client, HANDSHAKE_V2, string_map(same)).status
        assert refused.code == 1802 and "same cluster" in refused.message
        assert send(client, HANDSHAKE_V2, string_map(params)).status.code == 200

        # a raw tablet (§3.4) + isAligned byte
        raw = tablet_raw(
            "root.conf.raw",
            ["t", "v"],
            [INT64, DOUBLE],
            [1, 2, 3],
            [i64(10) + i64(20) + i64(30), f64(0.5) + f64(1.5) + f64(2.5)],
        )
        assert send(client, TABLET_RAW, raw + b"\x00").status.code == 200

        # a batch (§3.7): no WAL items, no InsertNodes, two tablets
        second = tablet_raw("root.conf.batch", ["s"], [INT32], [5, 6], [i32(-5) + i32(-6)])
        first = tablet_raw(
            "root.conf.bat2", ["t"], [INT64], [1, 2, 3], [i64(10) + i64(20) + i64(30)]
        )
        batch = i32(0) + i32(0) + i32(2) + first + b"\x00" + second + b"\x00"
        assert send(client, BATCH, batch).status.code == 200

        # an InsertTabletNode (§3.5, type 13) with a null, and an InsertRowNode (type 14)
        bitmap = bytes([0b010])  # row 1 of column 0 is null
        node_body = insert_tablet_node(
            "root.conf.nodes",
            ["a", "b"],
            [INT32, TEXT],
            [100, 101, 102],
            [i32(1) + i32(0) + i32(3), string("x") + string("") + string("z")],
            bitmaps=[bitmap, None],
        )
        assert send(client, INSERT_NODE, node_body).status.code == 200
        row = insert_row_node(
            200, "root.conf.nodes", ["a", "c"], [bytes([INT32]) + i32(9), bytes([FLOAT]) + f32(2.5)]
        )
        assert send(client, INSERT_NODE, row).status.code == 200
        rows_node = insert_rows_node(
            [
                row_fields(300, "root.conf.rows", ["ok"], [bytes([BOOLEAN]) + b"\x01"]),
                row_fields(301, "root.conf.rows", ["ok"], [b"\xfe"]),  # TYPE_NULL
                row_fields(302, "root.conf.rows", ["ok"], [bytes([BOOLEAN]) + b"\x00"]),
            ]
        )
        assert send(client, INSERT_NODE, rows_node).status.code == 200

        # a TsFile in three pieces (§3.8), one sent at a wrong offset: 1803 with the offset
        data = official_tsfile(tmp_path / "official.tsfile")
        name = "1700000000000-7-0-0.tsfile"
        cut1, cut2 = len(data) // 3, 2 * len(data) // 3
        piece = lambda offset, part: string(name) + i64(offset) + i32(len(part)) + part  # noqa: E731
        resp = send(client, PIECE, piece(0, data[:cut1]))
        assert resp.status.code == 200 and struct.unpack(">q", resp.body)[0] == cut1
        resp = send(client, PIECE, piece(cut2, data[cut2:]))  # skips the middle piece
        assert resp.status.code == 1803 and struct.unpack(">q", resp.body)[0] == cut1
        resp = send(client, PIECE, piece(cut1, data[cut1:cut2]))
        assert resp.status.code == 200 and struct.unpack(">q", resp.body)[0] == cut2
        resp = send(client, PIECE, piece(cut2, data[cut2:]))
        assert resp.status.code == 200 and struct.unpack(">q", resp.body)[0] == len(data)
        assert send(client, SEAL, string(name) + i64(len(data))).status.code == 200

        # an unknown type is answered, not hung on
        unknown = send(client, 4242, b"")
        assert (
            unknown.status.code == 1801
            and unknown.status.message == "Unknown PipeRequestType 4242."
        )
    finally:
        transport.close()

    assert rows(node, "select t, v from root.conf.raw") == [
        (1, 10, 0.5),
        (2, 20, 1.5),
        (3, 30, 2.5),
    ]
    assert rows(node, "select t from root.conf.bat2") == [(1, 10), (2, 20), (3, 30)]
    assert rows(node, "select s from root.conf.batch") == [(5, -5), (6, -6)]
    assert rows(node, "select a, b, c from root.conf.nodes") == [
        (100, 1, "x", None),
        (101, None, "", None),
        (102, 3, "z", None),
        (200, 9, None, 2.5),
    ]
    assert rows(node, "select ok from root.conf.rows") == [(300, True), (302, False)]
    got = rows(node, "select s1 from root.conf.file")
    assert got == [(1000 + r, r * 7) for r in range(300)]
    assert rows(node, "select count(s1) from root.conf.file") == [(300,)]
