"""IoTDB 2.0.1's DELETE race, replayed request by request into IoTDB's own receiver and into
pipecore's, so that the outcome does not depend on IoTDB's timing.

The race (seen with two real IoTDBs and a pipecore node fed by the same sender; docs/interop.md):
a pipe whose start overlaps the write of a TsFile captures the file twice — the historical
source's copy taken before a ``DELETE`` reached the file's ``.mods2``, the realtime source's
copy after — and the ``DeleteDataNode`` goes at once, ahead of both. IoTDB's receiver loads
both copies: each file's mods apply to that file only, so the stale copy brings the deleted
points back. pipecore's receiver recognises the second copy (same sender, name, length, bytes)
and records its deletions against the first (plugins/thrift_sink/.../resent.py).

The files are the real ones: IoTDB writes them (one per FLUSH), DELETE adds their ``.mods2``,
and the database is dropped before the replay so that IoTDB receives into a fresh one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from interop_data import device_data, expected, insert, select_points
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode

from pipecore.rpc import PipeTransferClient
from pipecore_storage.tsfile import TsFileReader
from pipecore_thrift_sink.protocol import (
    HandshakeParams,
    PipeRequestType,
    encode_file_piece,
    encode_file_seal_v2,
)
from pipecore_thrift_sink.protocol.delete_node import DeleteDataNode, encode_delete_node

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
T = PipeRequestType
SENDER = "5e4d3c2b-0000-4000-8000-replaysender"

# the orders IoTDB 2.0.1 was seen to use, and what IoTDB's own receiver then holds
ORDERS = {
    "delete, stale, with-mods": "resurrected",
    "delete, with-mods, stale": "resurrected",
    "stale, delete, with-mods": "deleted",
    "delete, stale": "resurrected",  # only the stale copy: nothing on the wire says otherwise
}


class _Sender:
    """What an IoTDB 2.0.1 data node sends, on one connection (handshake v2 first)."""

    def __init__(self, port: int) -> None:
        self.client = PipeTransferClient("127.0.0.1", port, timeout=60)
        params = HandshakeParams("ms", SENDER, username="root", password="root")
        self._ok(self.client.transfer(1, T.HANDSHAKE_DATANODE_V2, params.encode()))

    @staticmethod
    def _ok(reply: tuple) -> None:
        assert reply[0] == 200, reply

    def delete(self, node: DeleteDataNode) -> None:
        self._ok(self.client.transfer(1, T.TRANSFER_SCHEMA_PLAN, encode_delete_node(node)))

    def tsfile(self, name: str, data: bytes, mods: bytes | None) -> None:
        names, lengths = [], []
        for fname, body in ((name + ".mods2", mods), (name, data)):
            if body is not None:
                piece = encode_file_piece(fname, 0, body)
                self._ok(self.client.transfer(1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, piece))
                names.append(fname)
                lengths.append(len(body))
        # the tree model: no database name (a name makes IoTDB load the file as table-model
        # data, which it then drops answering 200)
        seal = encode_file_seal_v2(names, lengths, {f"DATABASE_NAME_{name}": None})
        self._ok(self.client.transfer(1, T.TRANSFER_TS_FILE_SEAL_WITH_MOD, seal))

    def close(self) -> None:
        self.client.close()


def _replay(port: int, order: str, case: dict) -> None:
    a, b = _Sender(port), _Sender(port)  # IoTDB sends the two copies on two connections
    try:
        for step in order.split(", "):
            if step == "delete":
                a.delete(case["delete"])
            elif step == "stale":
                a.tsfile(case["name"], case["data"], None)
            else:
                b.tsfile(case["name"], case["data"], case["mods"])
    finally:
        a.close()
        b.close()


def test_iotdb_delete_race_replayed(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, tmp_path: Path
) -> None:
    db = database
    iotdb.execute(f"create database {db}")
    cases: dict[str, dict] = {}
    for k, order in enumerate(ORDERS):
        device = f"{db}.d{k}"
        data = device_data(device, 100, aligned=k % 2 == 1, seed=k)
        insert(iotdb.session(), [data])
        iotdb.execute(f"flush {db}")  # one sealed TsFile per device
        cut = data.timestamps[30]
        want = expected([data])
        want[f"{device}.s_int64"] = [p for p in want[f"{device}.s_int64"] if p[0] > cut]
        cases[order] = {"device": device, "cut": cut, "want": want}
    for case in cases.values():
        iotdb.execute(f"delete from {case['device']}.s_int64 where time <= {case['cut']}")
    for tsfile in (p for p in iotdb.data_files() if f"/{db}/" in str(p)):
        mods2 = tsfile.with_name(tsfile.name + ".mods2")
        [device] = [str(d) for d in TsFileReader(tsfile).devices()]
        case = next(c for c in cases.values() if c["device"] == device)
        kind, database, region, partition = tsfile.parts[-5:-1]
        case["name"] = f"{kind}-{database}-{region}-{partition}-{tsfile.name}"
        case["data"] = tsfile.read_bytes()
        case["mods"] = mods2.read_bytes()  # the deletion is in the file's .mods2
        case["delete"] = DeleteDataNode((f"{device}.s_int64",), -(2**63), case["cut"])
        shutil.copyfile(tsfile, tmp_path / tsfile.name)
    assert all("mods" in c for c in cases.values())
    iotdb.execute(f"delete database {db}")

    for order, case in cases.items():
        _replay(iotdb.rpc_port, order, case)
        _replay(pipecore.port, order, case)

    iotdb_all = select_points(iotdb.query, f"{db}.**")
    pipecore_all = select_points(pipecore.query, f"{db}.**")
    for order, case in cases.items():
        prefix = case["device"] + "."
        want = case["want"]
        series = f"{case['device']}.s_int64"
        on_iotdb = {k: v for k, v in iotdb_all.items() if k.startswith(prefix)}
        on_pipecore = {k: v for k, v in pipecore_all.items() if k.startswith(prefix)}
        assert {k: v for k, v in on_iotdb.items() if k != series} == {
            k: v for k, v in want.items() if k != series
        }, order
        iotdb_deleted = on_iotdb[series] == want[series]
        assert iotdb_deleted == (ORDERS[order] == "deleted"), (order, len(on_iotdb[series]))
        if ORDERS[order] == "resurrected" and order != "delete, stale":
            assert on_pipecore == want, order  # pipecore: the deletion holds
        else:
            assert on_pipecore == on_iotdb, order  # as the authority
