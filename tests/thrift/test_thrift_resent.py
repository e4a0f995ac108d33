"""A TsFile a sender sends twice (IoTDB 2.0.1's DELETE race, docs/interop.md): the receiver
loads it once and records the second copy's newer deletions against the first, so the deleted
points stay deleted in every order; anything that makes that differ from loading the file again
(newer data over it, a local deletion, other bytes, another sender) loads it again, as IoTDB
does. Requests go over a real connection, one by one, in the orders IoTDB was seen to use."""

from __future__ import annotations

from pathlib import Path

import pytest
from thrift_helpers import SENDER_CLUSTER, double_tablet

from pipecore.rpc import PipeTransferClient
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink.protocol import (
    HandshakeParams,
    PipeRequestType,
    encode_file_piece,
    encode_file_seal_v2,
    encode_tablet_raw,
)
from pipecore_thrift_sink.protocol.delete_node import DeleteDataNode, encode_delete_node

T = PipeRequestType
NAME = "sequence-root.rs-1-2810-1796666815661-1-0-0.tsfile"
DELETE = DeleteDataNode(("root.rs.d1.s0",), -(2**63), 20, "1")
MODS = b"DELETION,root.rs.d1.s0,9223372036854775807,-9223372036854775808,20\n"


class Sender:
    """One connection of a sender cluster, speaking the requests IoTDB 2.0.1 sends."""

    def __init__(self, port: int, cluster: str = SENDER_CLUSTER) -> None:
        self.client = PipeTransferClient("127.0.0.1", port, timeout=30)
        params = HandshakeParams("ms", cluster, username="root", password="root")
        assert self.client.transfer(1, T.HANDSHAKE_DATANODE_V2, params.encode()).code == 200

    def delete(self, node: DeleteDataNode = DELETE) -> int:
        return self.client.transfer(1, T.TRANSFER_SCHEMA_PLAN, encode_delete_node(node)).code

    def tsfile(self, data: bytes, mods: bytes | None = None, name: str = NAME) -> int:
        names, lengths = [], []
        for fname, body in ((name + ".mods2", mods), (name, data)):
            if body is None:
                continue
            piece = encode_file_piece(fname, 0, body)
            assert self.client.transfer(1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, piece).code == 200
            names.append(fname)
            lengths.append(len(body))
        seal = encode_file_seal_v2(names, lengths, {f"DATABASE_NAME_{name}": None})
        return self.client.transfer(1, T.TRANSFER_TS_FILE_SEAL_WITH_MOD, seal).code

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def tsfile(tmp_path: Path) -> bytes:
    path = tmp_path / "src.tsfile"
    with TsFileWriter(path) as w:
        w.write_tablet(double_tablet("root.rs.d1", 0, 100))
    return path.read_bytes()


@pytest.fixture
def senders(receiver):
    made: list[Sender] = []

    def make(cluster: str = SENDER_CLUSTER) -> Sender:
        made.append(Sender(receiver.port, cluster))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _loaded(receiver) -> int:
    return sum(1 for f in receiver.store.sealed_files() if f.loaded)


@pytest.mark.parametrize(
    "order",
    [
        "delete, stale, with-mods",  # seen most: the deletion at once, then both copies
        "delete, with-mods, stale",
        "stale, delete, with-mods",
        "with-mods, stale",
    ],
)
def test_the_deleted_points_stay_deleted_in_every_order(receiver, senders, tsfile, order):
    a, b = senders(), senders()  # IoTDB sends the copies on different connections
    steps = {
        "delete": lambda: a.delete(),
        "stale": lambda: a.tsfile(tsfile),
        "with-mods": lambda: b.tsfile(tsfile, MODS),
    }
    for step in order.split(", "):
        assert steps[step]() == 200
    assert receiver.points("root.rs.d1.s0") == 79  # t = 21..99
    assert receiver.points("root.rs.d1.s1") == 100
    # the deletion reached the loaded copy itself: the copy is not untouched any more, and
    # the second copy is loaded as IoTDB would (each copy then has the deletion)
    touched = order.startswith("stale, delete")
    assert _loaded(receiver) == (2 if touched else 1)
    assert receiver.settings.resent.merged == (0 if touched else 1)


def test_the_merged_deletion_survives_a_restart(receiver, senders, tsfile, tmp_path):
    a = senders()
    assert a.tsfile(tsfile) == 200 and a.tsfile(tsfile, MODS) == 200
    a.close()
    receiver.store.close()
    from pipecore_storage import Store

    store = Store.open(tmp_path / "receiver-store")
    try:
        result = store.query("root.rs.d1.s0")
        assert int((~result.null_masks[0]).sum()) == 79
    finally:
        store.close()


def test_newer_data_over_the_copy_loads_the_file_again(receiver, senders, tsfile):
    """A newer write over the copy: "copy minus deletions" would keep the newer value, while
    IoTDB's second load makes the file's value win again — so the file is loaded again."""
    a = senders()
    assert a.tsfile(tsfile) == 200
    newer = double_tablet("root.rs.d1", 50, 10)
    newer.columns = [c + 1000 for c in newer.columns]
    assert a.client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(newer)).code == 200
    receiver.store.flush()
    assert a.tsfile(tsfile, MODS) == 200
    assert _loaded(receiver) == 2 and receiver.settings.resent.merged == 0
    result = receiver.store.query("root.rs.d1.s1", 55, 55)
    assert result.series("root.rs.d1.s1")[1].tolist() == [55 * 2.5]  # the file's value won


def test_a_local_deletion_on_the_copy_loads_the_file_again(receiver, senders, tsfile):
    """The copy was changed here (a DELETE on this node): loading again restores it, as on
    IoTDB (a user re-creating a pipe to repair the receiver gets the points back)."""
    a = senders()
    assert a.tsfile(tsfile) == 200
    receiver.store.delete("root.rs.d1.s1", 0, 99)
    assert a.tsfile(tsfile) == 200
    assert _loaded(receiver) == 2 and receiver.points("root.rs.d1.s1") == 100


def test_other_bytes_or_another_sender_are_other_files(receiver, senders, tsfile, tmp_path):
    a, b = senders(), senders("another-cluster")
    assert a.tsfile(tsfile) == 200
    assert b.tsfile(tsfile, MODS) == 200  # same name and bytes, another sender
    path = tmp_path / "other.tsfile"
    with TsFileWriter(path) as w:
        w.write_tablet(double_tablet("root.rs.e1", 0, 100))
    other = path.read_bytes()
    assert len(other) == len(tsfile) and other != tsfile  # same name and length, other bytes
    assert a.tsfile(other) == 200
    assert _loaded(receiver) == 3 and receiver.settings.resent.merged == 0
    assert receiver.points("root.rs.d1.s0") == 100  # b's mods apply to b's copy only
    assert receiver.points("root.rs.e1.*") == 300
