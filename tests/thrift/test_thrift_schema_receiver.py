"""The receiver's side of schema transfer (issue 16), in process: idempotent application,
conflicts as 1810, and the sender's origin on what it applies (so that a pipe from the
receiving node leaves the change out with forwarding-pipe-requests=false)."""

from __future__ import annotations

from test_thrift_receiver import client, handshake  # noqa: F401

from pipecore_storage.listeners import StoreSchemaChange
from pipecore_thrift_sink.protocol.schema_plan import schema_requests

RECORDS = [
    {"op": "create_database", "name": "root.rs"},
    {"op": "create_series", "device": "root.rs.d", "measurement": "s", "type": "INT64",
     "encoding": "TS_2DIFF", "compression": "ZSTD", "aligned": False, "props": []},
    {"op": "series_meta", "device": "root.rs.d", "measurement": "s", "alias": "a",
     "tags": [["k", "v"]], "attributes": []},
    {"op": "create_series", "device": "root.rs.al", "measurement": "x", "type": "TEXT",
     "encoding": "PLAIN", "compression": "LZ4", "aligned": True, "props": []},
]  # fmt: skip


def send(client, records) -> list[int]:  # noqa: F811
    return [client.transfer(1, t, body).code for t, body, _ in schema_requests(records)]


def test_applied_idempotently_with_the_sender_s_origin(receiver, client):  # noqa: F811
    assert handshake(client).code == 200
    sub = receiver.store.subscribe("watch", schema=True)
    assert send(client, RECORDS) == [200, 200, 200]
    assert send(client, RECORDS) == [200, 200, 200]  # again: nothing to do, no error
    changes = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
    assert len(changes) == 4  # database, series, its metadata, aligned series; then nothing
    assert all(c.origin.generated_by_pipe for c in changes)
    info = receiver.store.series("root.rs.d.s")
    assert (info.data_type.name, info.schema.encoding.name, info.alias) == (
        "INT64", "TS_2DIFF", "a",
    )  # fmt: skip
    assert receiver.store.device_aligned("root.rs.al") is True
    deletion = [{"op": "delete_series", "device": "root.rs.d", "measurement": "s"}]
    assert send(client, deletion) == [200]
    assert send(client, deletion) == [200]  # deleting what is gone is fine
    assert receiver.store.series("root.rs.d.s") is None


def test_conflicts_are_1810_naming_the_series(receiver, client):  # noqa: F811
    assert handshake(client).code == 200
    receiver.store.create_timeseries("root.rs.d.s", "TEXT")
    receiver.store.create_timeseries("root.rs.al.x", "TEXT")  # not aligned here
    codes = [client.transfer(1, t, body) for t, body, _ in schema_requests(RECORDS)]
    assert codes[0].code == 200
    assert codes[1].code == 1810 and "root.rs.d.s" in codes[1].message
    assert "INT64" in codes[1].message and "TEXT" in codes[1].message
    assert codes[2].code == 1810 and "aligned" in codes[2].message
    assert receiver.store.series("root.rs.d.s").data_type.name == "TEXT"
