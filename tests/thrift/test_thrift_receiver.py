"""pipecore's receiver, driven request by request over a real connection: access control
(ip_white_list, users, cluster id, precision), dispatch and statuses, file pieces and seals,
idempotence, type conversion, bookkeeping for SHOW PIPES."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from thrift_helpers import RECEIVER_CLUSTER, SENDER_CLUSTER, double_tablet

from pipecore import Origin
from pipecore.rpc import PipeTransferClient
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.origin import CLIENT
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink import IoTDBDataNodeReceiver
from pipecore_thrift_sink.protocol import (
    HandshakeParams,
    PipeRequestType,
    PipeTransferRequest,
    compress_request,
    decode_piece_reply_body,
    encode_file_piece,
    encode_file_seal_v1,
    encode_file_seal_v2,
    encode_handshake_v1,
    encode_slice,
    encode_tablet_batch,
    encode_tablet_raw,
    parse_compressors,
)
from pipecore_thrift_sink.protocol.slice import PipeTransferSlice

T = PipeRequestType


def handshake(client, **overrides):
    params = dict(
        timestamp_precision="ms", cluster_id=SENDER_CLUSTER, username="root", password="root"
    )
    params.update(overrides)
    return client.transfer(1, T.HANDSHAKE_DATANODE_V2, HandshakeParams(**params).encode())


@pytest.fixture
def client(receiver):
    c = PipeTransferClient("127.0.0.1", receiver.port, timeout=30)
    yield c
    c.close()


def test_handshake_then_data(receiver, client):
    code, _, body = handshake(client)
    assert code == 200 and body  # pipecore's marker
    tablet = double_tablet("root.r.d1", 0, 10)
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet)).code == 200
    assert receiver.points() == 30


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"password": "nope"}, 801, "wrong password"),
        ({"username": "ghost"}, 804, "does not exist"),
        ({"cluster_id": RECEIVER_CLUSTER}, 1802, "Receiver and sender are from the same cluster"),
        ({"cluster_id": None}, 1802, "does not contain clusterId"),
        ({"timestamp_precision": "us"}, 1802, "timestamp precision ms, connector's"),
        ({"timestamp_precision": None}, 1802, "does not contain timestampPrecision"),
    ],
)
def test_refused_handshakes(receiver, client, overrides, code, message):
    got, text, _ = handshake(client, **overrides)
    assert got == code and message in text
    [conn] = receiver.registry.list()
    assert conn.last_error is not None and str(code) in conn.last_error
    body = encode_tablet_raw(double_tablet("root.x.d", 0, 1))
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, body).code == 1811
    assert receiver.points() == 0


def test_changed_password(receiver, client):
    receiver.users.set_password("root", "s3cret")
    assert handshake(client).code == 801
    assert client.transfer(1, T.HANDSHAKE_DATANODE_V1, encode_handshake_v1("ms")).code == 801
    assert handshake(client, password="s3cret").code == 200
    receiver.users.set_password("ops", "pw", create=True)
    assert handshake(client, username="ops", password="pw").code == 200


@pytest.mark.parametrize("white_list", ["10.0.0.0/8", "", "192.168.0.1/32, 10.1.0.0/16"])
def test_sender_outside_the_white_list_is_refused(make_receiver, white_list):
    receiver = make_receiver(white_list=white_list)
    with PipeTransferClient("127.0.0.1", receiver.port, timeout=10) as c:
        code, message, _ = handshake(c)
        assert code == 1802 and "ip_white_list" in message and "127.0.0.1" in message
        body = encode_tablet_raw(double_tablet("root.w.d", 0, 5))
        assert c.transfer(1, T.TRANSFER_TABLET_RAW, body).code == 1802
    assert receiver.points() == 0


@pytest.mark.parametrize("white_list", ["127.0.0.0/8", "127.0.0.1", "10.0.0.0/8,127.0.0.1/32"])
def test_sender_inside_the_white_list_is_served(make_receiver, white_list):
    receiver = make_receiver(white_list=white_list)
    with PipeTransferClient("127.0.0.1", receiver.port, timeout=10) as c:
        assert handshake(c).code == 200


def test_unknown_types_versions_and_garbage(receiver, client):
    assert handshake(client).code == 200
    code, message, _ = client.transfer(1, 999, b"x")
    assert (code, message) == (1801, "Unknown PipeRequestType 999.")
    assert client.transfer(1, T.TRANSFER_TABLET_BINARY, b"\x00").code == 1801
    # a ConfigNode handshake (50) is served like 51: a malformed body is a malformed request
    assert client.transfer(1, T.HANDSHAKE_CONFIGNODE_V2, b"\x00").code == 1107
    assert handshake(client).code == 200  # (a failed handshake leaves no identity)
    # a plan node that is neither DELETE_DATA (44) nor a schema-region node: refused
    assert client.transfer(1, T.TRANSFER_SCHEMA_PLAN, b"\x00\x49").code == 1801  # a view (73)
    assert client.transfer(1, T.TRANSFER_SCHEMA_PLAN, b"\x00\x13").code == 1107  # truncated
    assert client.transfer(2, T.TRANSFER_TABLET_RAW, b"").code == 1800
    code, message, _ = client.transfer(1, T.TRANSFER_TABLET_RAW, b"\x00\x01garbage")
    assert code == 1107 and "Serialization error" in message
    tablet = double_tablet("root.g.d1", 0, 3)  # the connection is still good
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet)).code == 200


def test_batch_with_wal_items_is_refused_whole(receiver, client):
    handshake(client)
    body = encode_tablet_batch([double_tablet("root.wal.d1", 0, 5)], binary_items=[b"\x01\x02"])
    code, message, _ = client.transfer(1, T.TRANSFER_TABLET_BATCH, body)
    assert code == 1801 and "WAL-entry" in message
    assert receiver.points() == 0


def test_compressed_and_sliced_requests(receiver, client):
    inner = PipeTransferRequest(
        1, T.HANDSHAKE_DATANODE_V2, HandshakeParams("ms", SENDER_CLUSTER, "root", "root").encode()
    )
    wrapped = compress_request(inner, parse_compressors("zstd,snappy"))
    assert client.transfer(1, wrapped.type, wrapped.body).code == 200
    body = encode_tablet_raw(double_tablet("root.sl.d1", 0, 100))
    parts = [body[i : i + 500] for i in range(0, len(body), 500)]
    for i, part in enumerate(parts):
        s = PipeTransferSlice(7, T.TRANSFER_TABLET_RAW, len(body), part, i, len(parts))
        code, _, _ = client.transfer(1, T.TRANSFER_SLICE, encode_slice(s))
        assert code == 200
    assert receiver.points() == 300
    s = PipeTransferSlice(8, T.TRANSFER_TABLET_RAW, len(body), parts[1], 1, len(parts))
    assert client.transfer(1, T.TRANSFER_SLICE, encode_slice(s)).code == 1812


def _tsfile_bytes(tmp_path, tablets):
    path = tmp_path / "src.tsfile"
    with TsFileWriter(path) as w:
        for t in tablets:
            w.write_tablet(t)
    return path.read_bytes()


def test_file_pieces_offsets_and_seal(receiver, client, tmp_path):
    handshake(client)
    tablet = double_tablet("root.f.d1", 0, 500)
    data = _tsfile_bytes(tmp_path, [tablet])
    name = "100-1-0-0.tsfile"
    third = len(data) // 3
    resp = client.transfer_response(
        1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, 0, data[:third])
    )
    assert resp.status.code == 200 and decode_piece_reply_body(resp.body) == third
    # a piece at a wrong offset: 1803 with the offset to resume from
    resp = client.transfer_response(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, 5, b"zz"))
    assert resp.status.code == 1803 and decode_piece_reply_body(resp.body) == third
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, third, data[third:]))
    # a seal with the wrong length is refused, and the file must be sent again
    code, message, _ = client.transfer(1, T.TRANSFER_TS_FILE_SEAL, encode_file_seal_v1(name, 1))
    assert code == 1804 and "length of file is not correct" in message
    assert (
        client.transfer(1, T.TRANSFER_TS_FILE_SEAL, encode_file_seal_v1(name, len(data))).code
        == 1804
    )
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, 0, data))
    assert (
        client.transfer(1, T.TRANSFER_TS_FILE_SEAL, encode_file_seal_v1(name, len(data))).code
        == 200
    )
    assert receiver.points() == 1500
    folder = receiver.receivers[0].files.folder
    assert list(folder.iterdir()) == []  # nothing left behind
    client.close()
    import time

    deadline = time.monotonic() + 5
    while (folder.exists() or receiver.registry.list()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not folder.exists()  # the connection's folder goes with it
    assert receiver.registry.list() == []


def test_mods_are_truncated_on_a_wrong_offset_and_applied_on_seal(receiver, client, tmp_path):
    handshake(client)
    data = _tsfile_bytes(tmp_path, [double_tablet("root.md.d1", 0, 100)])
    mods = b"DELETION,root.md.d1.s0,9223372036854775807,0,49\n"
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, encode_file_piece("a.mods", 0, b"old"))
    resp = client.transfer_response(
        1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, encode_file_piece("a.mods", 99, b"x")
    )
    assert resp.status.code == 1803 and decode_piece_reply_body(resp.body) == 0  # truncated
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, encode_file_piece("a.mods", 0, mods))
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE_WITH_MOD, encode_file_piece("a.tsfile", 0, data))
    seal = encode_file_seal_v2(["a.mods", "a.tsfile"], [len(mods), len(data)], {})
    assert client.transfer(1, T.TRANSFER_TS_FILE_SEAL_WITH_MOD, seal).code == 200
    assert receiver.points("root.md.d1.s0") == 50 and receiver.points("root.md.d1.s1") == 100


@pytest.mark.parametrize("name", ["../escape.tsfile", "a/b.tsfile", "..", "/abs.tsfile"])
def test_piece_names_cannot_leave_the_folder(receiver, client, tmp_path, name):
    handshake(client)
    code, _, _ = client.transfer(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, 0, b"x"))
    assert code == 1107
    assert not (receiver.settings.base_dir / "escape.tsfile").exists()
    assert not (tmp_path / "abs.tsfile").exists()


def test_resending_after_a_crash_changes_nothing(receiver, client, tmp_path):
    handshake(client)
    tablet = double_tablet("root.i.d1", 0, 200)
    data = _tsfile_bytes(tmp_path, [double_tablet("root.i.d2", 0, 200)])
    for _ in range(3):
        client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet))
        client.transfer(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece("x.tsfile", 0, data))
        client.transfer(1, T.TRANSFER_TS_FILE_SEAL, encode_file_seal_v1("x.tsfile", len(data)))
        result = receiver.store.query("root.i.**")
        assert len(result.timestamps) == 200
        assert [c for c in result.columns] == [
            f"root.i.d{d}.s{j}" for d in (1, 2) for j in range(3)
        ]
        rows = result.rows()
        assert rows[7] == (7, *[7 * (j + 1.5) for j in range(3)] * 2)


def test_type_conflicts_are_converted_when_asked(receiver, client):
    receiver.store.create_timeseries("root.t.d1.s1", "INT32")
    handshake(client)
    times = np.arange(5, dtype=np.int64)
    tablet = Tablet("root.t.d1", [MeasurementSchema("s1", "DOUBLE")], times, [times * 1.0 + 0.5])
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet)).code == 200
    assert receiver.store.query("root.t.d1.s1").rows()[3] == (3, 3)
    with PipeTransferClient("127.0.0.1", receiver.port) as strict:
        handshake(strict, convert_on_type_mismatch=False)
        code, message, _ = strict.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet))
        assert code == 1810 and "INT32" in message


@pytest.mark.parametrize(("mark", "origin"), [(True, Origin.pipe(SENDER_CLUSTER)), (False, CLIENT)])
def test_writes_are_marked_as_the_sender_asks(receiver, client, mark, origin):
    sub = receiver.store.subscribe("w")
    handshake(client, mark_as_pipe_request=mark)
    client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(double_tablet("root.o.d", 0, 2)))
    [event] = sub.drain(10)
    assert event.origin == origin


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    type_=st.sampled_from([int(t) for t in T] + [-1, 12, 999]),
    body=st.binary(max_size=200),
)
def test_any_bytes_get_a_status_never_an_exception(receiver, type_, body):
    r = IoTDBDataNodeReceiver(receiver.settings, ("127.0.0.1", 1))
    try:
        assert (
            r.transfer(
                1,
                T.HANDSHAKE_DATANODE_V2,
                HandshakeParams("ms", SENDER_CLUSTER, "root", "root").encode(),
            ).status.code
            == 200
        )
        resp = r.transfer(1, type_, body)
        assert isinstance(resp.status.code, int)
        handshakes = {T.HANDSHAKE_DATANODE_V1, T.HANDSHAKE_CONFIGNODE_V1}
        handshakes |= {T.HANDSHAKE_DATANODE_V2, T.HANDSHAKE_CONFIGNODE_V2}
        if type_ in handshakes and not resp.status.is_success:  # a failed one leaves no identity
            v1 = encode_handshake_v1("ms")
            assert r.transfer(1, T.HANDSHAKE_DATANODE_V1, v1).status.is_success
        again = r.transfer(
            1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(double_tablet("root.z.d", 0, 1))
        )
        assert again.status.code == 200  # the receiver is still usable
    finally:
        r.close()
