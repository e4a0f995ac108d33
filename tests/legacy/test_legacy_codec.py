"""The sync tool's PipeData (IoTDB 1.0.1 / 1.1.2 ``org.apache.iotdb.db.sync.pipedata``): the
bytes pipecore writes are the documented layout, built here by hand, and decode back."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore_thrift_sink.legacy import (
    DeletionPipeData,
    TsFilePipeData,
    decode_pipe_data,
    encode_pipe_data,
)
from pipecore_thrift_sink.protocol import PipeProtocolError


def _java_string(text: str | None) -> bytes:
    """tsfile ReadWriteIOUtils.write(String): i32 UTF-8 length (-1 for null), the bytes."""
    if text is None:
        return struct.pack(">i", -1)
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def test_tsfile_pipe_data_is_the_documented_layout() -> None:
    # IoTDB 1.3's legacy sink sends new TsFilePipeData("", tsFile.getName(), -1)
    data = TsFilePipeData(-1, "1700000000000-1-0-0.tsfile", "")
    want = b"\x00" + struct.pack(">q", -1) + _java_string("") + _java_string(data.tsfile_name)
    assert encode_pipe_data(data) == want
    assert decode_pipe_data(want) == data


def test_deletion_pipe_data_is_the_documented_layout() -> None:
    data = DeletionPipeData(7, "root.vehicle", "root.vehicle.d0.**", -(2**63), 1_000)
    want = (
        b"\x01"
        + struct.pack(">q", 7)
        + _java_string("root.vehicle")
        + struct.pack(">qq", -(2**63), 1_000)
        + _java_string("root.vehicle.d0.**")
    )
    assert encode_pipe_data(data) == want
    assert decode_pipe_data(want) == data
    # a null database (the 1.0 sender's constructor without one) reads as None
    nulldb = want[:9] + _java_string(None) + want[9 + 4 + len("root.vehicle") :]
    assert decode_pipe_data(nulldb).database is None  # type: ignore[union-attr]


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(
    st.one_of(
        st.builds(TsFilePipeData, st.integers(-(2**63), 2**63 - 1), names, st.text(max_size=20)),
        st.builds(
            DeletionPipeData,
            st.integers(-(2**63), 2**63 - 1),
            st.one_of(st.none(), names),
            names,
            st.integers(-(2**63), 2**63 - 1),
            st.integers(-(2**63), 2**63 - 1),
        ),
    )
)
def test_round_trip(data: TsFilePipeData | DeletionPipeData) -> None:
    assert decode_pipe_data(encode_pipe_data(data)) == data


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x02" + bytes(8), "Invalid input: 2"),
        (b"\x00" + bytes(4), "serialNumber"),
        (b"\x00" + bytes(8) + _java_string("") + _java_string(None), "without a file name"),
        (encode_pipe_data(TsFilePipeData(1, "a.tsfile")) + b"x", "1 bytes after"),
        (b"\x01" + bytes(8) + _java_string("root.a") + bytes(16) + _java_string(""), "path"),
    ],
)
def test_malformed_pipe_data_is_refused(body: bytes, match: str) -> None:
    with pytest.raises(PipeProtocolError, match=match):
        decode_pipe_data(body)


def test_the_sync_calls_are_byte_identical_to_iotdbs_generated_client() -> None:
    """handshake (argument id -1), sendFile and sendPipeData as pipecore encodes them are the
    bytes IoTDB's generated Python client (apache-iotdb, pure-Python binary protocol) writes."""
    from iotdb.thrift.rpc import IClientRPCService as official
    from iotdb.thrift.rpc import ttypes
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.transport.TTransport import TMemoryBuffer

    from pipecore.rpc import thrift as facade

    def theirs(send: str, *args: object) -> bytes:
        out = TMemoryBuffer()
        getattr(official.Client(TBinaryProtocol(out)), send)(*args)
        return out.getvalue()

    info = ("my_pipe", 1648569600000, "1.1", "root.vehicle")
    assert facade.encode_call("handshake", info=facade.TSyncIdentityInfo(*info)) == theirs(
        "send_handshake", ttypes.TSyncIdentityInfo(*info)
    )
    assert b"root.vehicle" in theirs("send_handshake", ttypes.TSyncIdentityInfo(*info))
    meta = ("1-1-0-0.tsfile", 4096)
    assert facade.encode_call(
        "sendFile", metaInfo=facade.TSyncTransportMetaInfo(*meta), buff=b"piece"
    ) == theirs("send_sendFile", ttypes.TSyncTransportMetaInfo(*meta), b"piece")
    body = encode_pipe_data(TsFilePipeData(3, "1-1-0-0.tsfile"))
    assert facade.encode_call("sendPipeData", buff=body) == theirs("send_sendPipeData", body)
