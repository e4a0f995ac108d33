"""Byte-level agreement with IoTDB's own generated Thrift code (apache-iotdb, the oracle)."""

from __future__ import annotations

import struct

import pytest
from iotdb.thrift.common.ttypes import TEndPoint as OfficialEndPoint
from iotdb.thrift.common.ttypes import TSStatus as OfficialStatus
from iotdb.thrift.rpc import IClientRPCService as official_service
from iotdb.thrift.rpc.ttypes import TPipeTransferReq as OfficialReq
from iotdb.thrift.rpc.ttypes import TPipeTransferResp as OfficialResp
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TMessageType, TType
from thrift.transport import TTransport

from pipecore.rpc import thrift as facade
from pipecore.rpc.framing import frame_header

# reference §1.3: a handshake-v1 call as the Python generated client frames it
HANDSHAKE_V1_CALL = bytes.fromhex(
    "00000033 80010001 0000000c" + b"pipeTransfer".hex() + "00000000 0cffff 03000101"
    "0600020001 0b000300000006 000000026d73 00 00"
)


def official_call_bytes(req, protocol=TBinaryProtocol.TBinaryProtocol) -> bytes:
    out = TTransport.TMemoryBuffer()
    client = official_service.Client(protocol(TTransport.TFramedTransport(out)))
    client.send_pipeTransfer(req)
    return out.getvalue()


def test_reference_example_is_what_the_official_client_writes():
    assert official_call_bytes(OfficialReq(1, 1, b"\x00\x00\x00\x02ms")) == HANDSHAKE_V1_CALL


@pytest.mark.parametrize(
    ("version", "type_", "body"),
    [(1, 1, b"\x00\x00\x00\x02ms"), (1, 51, b"\x00" * 4), (-128, 400, bytes(range(256)) * 40)],
)
def test_our_pipe_transfer_call_equals_the_official_client_byte_for_byte(version, type_, body):
    ours = facade.encode_call("pipeTransfer", req=facade.TPipeTransferReq(version, type_, body))
    framed = frame_header(len(ours)) + ours
    assert framed == official_call_bytes(OfficialReq(version, type_, body))


@pytest.mark.parametrize(
    ("version", "type_", "body", "seqid"),
    [(1, 1, b"ms", 0), (-128, -32768, b"", 7), (127, 32767, bytes(70000), 2**31 - 1)],
)
def test_fast_pipe_transfer_encoding_equals_the_generated_code(version, type_, body, seqid):
    fast = b"".join(facade.encode_pipe_transfer_call(version, type_, body, seqid))
    generic = facade.encode_call(
        "pipeTransfer", seqid, req=facade.TPipeTransferReq(version, type_, body)
    )
    assert fast == generic
    if seqid == 0:
        assert frame_header(len(fast)) + fast == official_call_bytes(
            OfficialReq(version, type_, body)
        )


def test_non_canonical_field_order_takes_the_generic_path():
    """Fields may come in any order on the wire; such a call is still decoded."""
    out = TTransport.TMemoryBuffer()
    p = TBinaryProtocol.TBinaryProtocol(out)
    p.writeMessageBegin("pipeTransfer", TMessageType.CALL, 3)
    p.writeStructBegin("args")
    p.writeFieldBegin("req", TType.STRUCT, -1)
    p.writeStructBegin("req")
    p.writeFieldBegin("body", TType.STRING, 3)
    p.writeBinary(b"payload")
    p.writeFieldBegin("type", TType.I16, 2)
    p.writeI16(9)
    p.writeFieldBegin("version", TType.BYTE, 1)
    p.writeByte(1)
    p.writeFieldStop()
    p.writeFieldStop()
    p.writeMessageEnd()
    seen = []

    def handler(req):
        seen.append((req.version, req.type, req.body))
        return facade.TPipeTransferResp(status=facade.TSStatus(code=200))

    reply = facade.dispatch_message(out.getvalue(), lambda name: handler)
    assert seen == [(1, 9, b"payload")]
    iprot = TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(reply))
    assert iprot.readMessageBegin() == ("pipeTransfer", TMessageType.REPLY, 3)


def test_field_minus_one_survives_the_accelerated_codec():
    """thrift's compiler leaves an empty spec for an argument with id -1; with it the C codec
    silently writes an empty struct (IoTDB's own generated client shows this). regen.sh sets
    the spec to None so our accelerated encoder takes the pure-Python path for it."""
    req = OfficialReq(1, 1, b"\x00\x00\x00\x02ms")
    broken = official_call_bytes(req, TBinaryProtocol.TBinaryProtocolAccelerated)
    assert b"ms" not in broken  # the pitfall, in IoTDB's own generated code
    ours = facade.encode_call("pipeTransfer", req=facade.TPipeTransferReq(1, 1, req.body))
    assert frame_header(len(ours)) + ours == HANDSHAKE_V1_CALL


def test_argument_has_field_id_minus_one():
    ours = facade.encode_call("pipeTransfer", req=facade.TPipeTransferReq(1, 1, b""))
    name_end = 4 + 4 + len("pipeTransfer") + 4
    assert ours[name_end : name_end + 3] == b"\x0c\xff\xff"


def decode_official_reply(data: bytes, protocol=TBinaryProtocol.TBinaryProtocol):
    iprot = protocol(TTransport.TMemoryBuffer(data))
    name, mtype, seqid = iprot.readMessageBegin()
    assert (name, mtype, seqid) == ("pipeTransfer", TMessageType.REPLY, 0)
    result = official_service.pipeTransfer_result()
    result.read(iprot)
    return result.success


def test_our_server_side_decodes_official_calls_and_official_code_reads_our_reply():
    seen = []

    def handler(req):
        seen.append((req.version, req.type, req.body))
        status = facade.TSStatus(
            code=400,
            message="redirect",
            subStatus=[facade.TSStatus(code=200, message="root.sg.d1")],
            redirectNode=facade.TEndPoint("10.0.0.2", 6667),
            needRetry=False,
        )
        return facade.TPipeTransferResp(status=status, body=struct.pack(">q", 42))

    call = official_call_bytes(OfficialReq(1, 4, b"piece"))[4:]
    reply = facade.dispatch_message(call, lambda name: handler)
    assert seen == [(1, 4, b"piece")]
    resp = decode_official_reply(reply)
    assert isinstance(resp, OfficialResp)
    assert resp.status == OfficialStatus(
        code=400,
        message="redirect",
        subStatus=[OfficialStatus(code=200, message="root.sg.d1")],
        redirectNode=OfficialEndPoint("10.0.0.2", 6667),
        needRetry=False,
    )
    assert resp.body == struct.pack(">q", 42)


def test_compact_protocol_calls_are_answered_in_compact():
    out = TTransport.TMemoryBuffer()
    client = official_service.Client(TCompactProtocol.TCompactProtocol(out))
    client.send_pipeTransfer(OfficialReq(1, 1, b"x"))
    reply = facade.dispatch_message(
        out.getvalue(),
        lambda name: lambda req: facade.TPipeTransferResp(status=facade.TSStatus(code=200)),
    )
    assert decode_official_reply(reply, TCompactProtocol.TCompactProtocol).status.code == 200


# IoTDB 2.0's executeGroupByQueryIntervalQuery is gone from the IDL apache-iotdb 2.0.11's Python
# code was generated from; its request struct as IoTDB's Java client 2.0.5 (iotdb-thrift) has
# it: (id, thrift type, name), fields 1-6 required. The Java client itself talks to pipecore in
# tests/clients/test_client_rare_calls.py.
_JAVA_ONLY_STRUCTS = {
    "TSGroupByQueryIntervalReq": [
        (1, TType.I64, "sessionId"), (2, TType.I64, "statementId"),
        (3, TType.STRING, "device"), (4, TType.STRING, "measurement"),
        (5, TType.I32, "dataType"), (6, TType.I32, "aggregationType"),
        (7, TType.STRING, "database"), (8, TType.I64, "startTime"), (9, TType.I64, "endTime"),
        (10, TType.I64, "interval"), (11, TType.I32, "fetchSize"), (12, TType.I64, "timeout"),
        (13, TType.BOOL, "isAligned"),
    ],
}  # fmt: skip
_JAVA_ONLY_METHODS = {"executeGroupByQueryIntervalQuery": [(1, TType.STRUCT, "req")]}


def test_every_declared_method_exists_in_iotdb_with_the_same_argument_ids():
    for name, spec in facade.METHODS.items():
        ours = spec.args_cls.thrift_spec
        if name in _JAVA_ONLY_METHODS:
            assert [f[:3] for f in ours if f] == _JAVA_ONLY_METHODS[name]
            continue
        theirs = getattr(official_service, f"{name}_args").thrift_spec
        if name in ("pipeTransfer", "handshake"):
            assert ours is None  # field -1: see test_field_minus_one_survives_...
            continue
        assert [f[:3] for f in ours if f] == [f[:3] for f in theirs if f], name


def _field_table(cls):
    return [(f[0], f[1], f[2]) for f in cls.thrift_spec if f]


def test_structs_have_iotdb_field_ids_and_types():
    from iotdb.thrift.rpc import ttypes as official

    for name in facade.__all__:
        ours = getattr(facade, name)
        if not isinstance(ours, type) or not hasattr(ours, "thrift_spec"):
            continue
        if name in _JAVA_ONLY_STRUCTS:
            assert _field_table(ours) == _JAVA_ONLY_STRUCTS[name]
            continue
        theirs = getattr(official, name, None)
        if theirs is None:
            from iotdb.thrift.common import ttypes as common

            theirs = getattr(common, name)
        ours_fields, their_fields = _field_table(ours), _field_table(theirs)
        # a subset of IoTDB's fields (2.x added some), each with the same id, type and name
        assert set(ours_fields) <= set(their_fields), name
