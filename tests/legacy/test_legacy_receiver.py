"""pipecore's RPC port as a receiver of IoTDB 1.0/1.1's sync tool, called through IoTDB's own
generated Python client (apache-iotdb): the handshake's checks, the file offset rules, TsFile and
deletion PipeData, and the answers IoTDB 1.1.2 gives (status codes and messages from its jar)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from legacy_helpers import IoTDBClient, LegacyReceiver
from thrift.Thrift import TApplicationException

from pipecore.rpc import TSStatusCode
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink.legacy import DeletionPipeData, TsFilePipeData, encode_pipe_data

OK, REDIRECT, FILE_ERROR, PIPESERVER_ERROR = 200, 1104, 1105, 1108
ILLEGAL_PARAMETER = int(TSStatusCode.ILLEGAL_PARAMETER)  # IoTDB 2.0's answer to a bad pipe name


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[LegacyReceiver]:
    r = LegacyReceiver(tmp_path)
    yield r
    r.close()


@pytest.fixture
def client(receiver: LegacyReceiver) -> Iterator[IoTDBClient]:
    c = IoTDBClient(receiver.port)
    yield c
    c.close()


def _tsfile(path: Path, version: int = 3) -> Path:
    times = np.arange(1, 201, dtype=np.int64)
    tablet = Tablet(
        "root.vehicle.d0",
        [MeasurementSchema("s0", "INT32"), MeasurementSchema("s1", "DOUBLE")],
        times,
        [(times * 2).astype(np.int32), times * 0.5],
    )
    with TsFileWriter(path, format_version=version) as writer:
        writer.write_tablet(tablet)
    return path


def _send_whole(client: IoTDBClient, path: Path, piece: int = 700) -> None:
    data = path.read_bytes()
    for start in range(0, len(data), piece):
        assert client.send_file(path.name, start, data[start : start + piece]).code == OK


def test_a_tsfile_and_a_deletion_from_iotdbs_client(
    receiver: LegacyReceiver, client: IoTDBClient, tmp_path: Path
) -> None:
    status = client.handshake("my_pipe2", 1648569600000, "1.1.2", "root.vehicle")
    assert (status.code, status.message) == (OK, "")
    assert [d.database for d in receiver.store.show_databases().rows] == ["root.vehicle"]
    path = _tsfile(tmp_path / "1648569600000-1-0-0.tsfile")
    _send_whole(client, path)
    # the sender's own folder in parentDirPath is ignored: the receiver has the file
    status = client.send_pipe_data(encode_pipe_data(TsFilePipeData(0, path.name, "/sender/dir")))
    assert status.code == OK, status
    result = receiver.store.query("root.vehicle.d0.*")
    times, values = result.series("root.vehicle.d0.s0")
    assert list(times) == list(range(1, 201)) and list(values) == [2 * t for t in range(1, 201)]
    deletion = DeletionPipeData(1, "root.vehicle", "root.vehicle.d0.s0", 1, 100)
    assert client.send_pipe_data(encode_pipe_data(deletion)).code == OK
    times, _ = receiver.store.query("root.vehicle.d0.s0").series("root.vehicle.d0.s0")
    assert list(times) == list(range(101, 201))
    # SHOW PIPES on the receiver: the sender's pipe name, its database, one file
    [conn] = receiver.registry.list()
    assert conn.pipe_name == "my_pipe2" and conn.databases == {"root.vehicle"}
    assert conn.files == 1 and conn.last_error is None


def test_the_file_offset_rules(receiver: LegacyReceiver, client: IoTDBClient) -> None:
    assert client.handshake("p", 1, "1.1", "").code == OK
    data = bytes(range(256)) * 4
    # a new file starts at 0
    status = client.send_file("f.tsfile", 10, data[10:20])
    assert (status.code, status.message) == (REDIRECT, "0")
    assert client.send_file("f.tsfile", 0, data[:100]).code == OK
    # a piece sent again (the sender retried after a timeout): go on from 100
    status = client.send_file("f.tsfile", 0, data[:100])
    assert (status.code, status.message) == (REDIRECT, "100")
    assert client.send_file("f.tsfile", 100, data[100:300]).code == OK
    # a new handshake is a new sync connection: no records, the half-sent file starts over
    assert client.handshake("p", 1, "1.1", "").code == OK
    status = client.send_file("f.tsfile", 300, data[300:])
    assert (status.code, status.message) == (REDIRECT, "0")
    assert client.send_file("f.tsfile", 0, data[:50]).code == OK  # truncates the old .patch
    assert client.send_file("f.tsfile", 50, data[50:]).code == OK
    # not a TsFile: the load fails (1108) and the finished file stays in the folder ...
    status = client.send_pipe_data(encode_pipe_data(TsFilePipeData(2, "f.tsfile")))
    assert status.code == PIPESERVER_ERROR
    assert status.message.startswith("Fail to load pipeData because f.tsfile cannot be loaded")
    [folder] = (receiver.settings.base_dir / "legacy").iterdir()
    assert (folder / "f.tsfile").read_bytes() == data
    # ... so a new connection sending it again is moved to its end (its length)
    assert client.handshake("p", 1, "1.1", "").code == OK
    status = client.send_file("f.tsfile", 0, data[:10])
    assert (status.code, status.message) == (REDIRECT, str(len(data)))
    # a file name that is a path is refused (1105)
    status = client.send_file("../escape.tsfile", 0, b"x")
    assert status.code == FILE_ERROR and "Illegal file name" in status.message
    assert not (receiver.settings.base_dir / "escape.tsfile.patch").exists()


def test_calls_before_a_handshake_are_refused(receiver: LegacyReceiver) -> None:
    for call in (
        lambda c: c.send_file("a.tsfile", 0, b"x"),
        lambda c: c.send_pipe_data(encode_pipe_data(TsFilePipeData(0, "a.tsfile"))),
    ):
        c = IoTDBClient(receiver.port)
        try:
            with pytest.raises(TApplicationException, match="Thrift connection is not alive"):
                call(c)
        finally:
            c.close()
    assert receiver.store.show_databases().rows == []


@pytest.mark.parametrize(
    ("version", "pipe", "code", "message"),
    [
        ("0.13.4", "p", PIPESERVER_ERROR, "version mismatch: the sender <0.13.4>, the receiver"),
        ("UNKNOWN", "p", PIPESERVER_ERROR, "version mismatch: the sender <UNKNOWN>"),
        ("1", "p", PIPESERVER_ERROR, "version mismatch"),
        ("1.0.1", "../p", ILLEGAL_PARAMETER, "Invalid pipe name '../p'"),
        ("1.0.1", "", ILLEGAL_PARAMETER, "Invalid pipe name"),
    ],
)
def test_handshake_refusals(
    client: IoTDBClient, version: str, pipe: str, code: int, message: str
) -> None:
    status = client.handshake(pipe, 1, version, "root.sg")
    assert status.code == code and message in status.message
    with pytest.raises(TApplicationException, match="not alive"):  # a refused sender sends nothing
        client.send_file("a.tsfile", 0, b"x")


@pytest.mark.parametrize("version", ["1.0.1", "1.1.2", "1.3.2", "2.0.1"])
def test_handshake_takes_any_version_from_1_0(client: IoTDBClient, version: str) -> None:
    """IoTDB 1.3/2.x's legacy receiver checks no version; their iotdb-legacy-pipe-sink sends
    its own (IoTDBPipeDataSinkIT.testLegacyConnector sets sink.version=1.3)."""
    assert client.handshake("p", 1, version, "root.sg").code == OK


def test_a_sender_outside_ip_white_list_is_refused(tmp_path: Path) -> None:
    receiver = LegacyReceiver(tmp_path, white_list="192.168.0.1/32")
    client = IoTDBClient(receiver.port)
    try:
        status = client.handshake("p", 1, "1.1", "root.sg")
        assert status.code == PIPESERVER_ERROR
        assert status.message.startswith(
            "permission is not allowed: the sender IP <127.0.0.1>, the white list of receiver "
            "<192.168.0.1/32>"
        )
        [conn] = receiver.registry.list()  # SHOW PIPES: the refused sender's row says why
        assert "ip_white_list" in (conn.last_error or "")
        assert receiver.store.show_databases().rows == []
        assert receiver.registry.totals.refused.get("white_list") == 1
    finally:
        client.close()
        receiver.close()


def test_malformed_pipe_data(receiver: LegacyReceiver, client: IoTDBClient) -> None:
    assert client.handshake("p", 1, "1.1", "").code == OK
    status = client.send_pipe_data(b"\x07" + bytes(8))
    assert status.code == PIPESERVER_ERROR
    assert status.message.startswith("Pipe data transport error, ")
    status = client.send_pipe_data(encode_pipe_data(TsFilePipeData(0, "never-sent.tsfile")))
    assert status.code == PIPESERVER_ERROR and "was not sent" in status.message
