"""The one facade over the generated Thrift code (`pipecore.rpc.gen`, from iotdb_rpc.thrift).

Nothing else in pipecore imports `pipecore.rpc.gen`; code that needs a Thrift struct (a session
handler building a `TSExecuteStatementResp`, a test) takes it from here. Besides re-exporting
the structs, this module encodes and decodes whole messages:

* `dispatch_message` — server side: decode one call (binary or compact protocol, detected from
  its first byte), run the handler, encode the reply in the same protocol;
* `encode_call` / `decode_reply` — client side.

Decoding is bounded: no string or container in a message can be longer than the message.
"""

from __future__ import annotations

import inspect
import logging
import struct
import threading
from collections.abc import Callable
from typing import Any

import attrs
from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated
from thrift.protocol.TCompactProtocol import TCompactProtocolAccelerated
from thrift.protocol.TProtocol import TProtocolBase
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport.TTransport import TMemoryBuffer

from pipecore_storage.status import Endpoint, Status, TSStatusCode

from .errors import RpcApplicationError, RpcProtocolError
from .gen.iotdb_rpc import IClientRPCService as _service
from .gen.iotdb_rpc.ttypes import (
    ServerProperties,
    TAggregationType,
    TCreateTimeseriesUsingSchemaTemplateReq,
    TEndPoint,
    TPipeTransferReq,
    TPipeTransferResp,
    TSAggregationQueryReq,
    TSAppendSchemaTemplateReq,
    TSBackupConfigurationResp,
    TSCancelOperationReq,
    TSCloseOperationReq,
    TSCloseSessionReq,
    TSConnectionInfo,
    TSConnectionInfoResp,
    TSConnectionType,
    TSCreateAlignedTimeseriesReq,
    TSCreateMultiTimeseriesReq,
    TSCreateSchemaTemplateReq,
    TSCreateTimeseriesReq,
    TSDeleteDataReq,
    TSDropSchemaTemplateReq,
    TSExecuteBatchStatementReq,
    TSExecuteStatementReq,
    TSExecuteStatementResp,
    TSFastLastDataQueryForOneDeviceReq,
    TSFastLastDataQueryForOnePrefixPathReq,
    TSFetchMetadataReq,
    TSFetchMetadataResp,
    TSFetchResultsReq,
    TSFetchResultsResp,
    TSGetTimeZoneResp,
    TSGroupByQueryIntervalReq,
    TSInsertRecordReq,
    TSInsertRecordsOfOneDeviceReq,
    TSInsertRecordsReq,
    TSInsertStringRecordReq,
    TSInsertStringRecordsOfOneDeviceReq,
    TSInsertStringRecordsReq,
    TSInsertTabletReq,
    TSInsertTabletsReq,
    TSLastDataQueryReq,
    TSOpenSessionReq,
    TSOpenSessionResp,
    TSProtocolVersion,
    TSPruneSchemaTemplateReq,
    TSQueryDataSet,
    TSQueryNonAlignDataSet,
    TSQueryTemplateReq,
    TSQueryTemplateResp,
    TSRawDataQueryReq,
    TSSetSchemaTemplateReq,
    TSSetTimeZoneReq,
    TSStatus,
    TSTracingInfo,
    TSUnsetSchemaTemplateReq,
    TSyncIdentityInfo,
    TSyncTransportMetaInfo,
)

__all__ = [
    "BINARY",
    "COMPACT",
    "METHODS",
    "MethodSpec",
    "ServerProperties",
    "TAggregationType",
    "TApplicationException",
    "TCreateTimeseriesUsingSchemaTemplateReq",
    "TEndPoint",
    "TPipeTransferReq",
    "TPipeTransferResp",
    "TSAggregationQueryReq",
    "TSAppendSchemaTemplateReq",
    "TSBackupConfigurationResp",
    "TSCancelOperationReq",
    "TSCloseOperationReq",
    "TSCloseSessionReq",
    "TSConnectionInfo",
    "TSConnectionInfoResp",
    "TSConnectionType",
    "TSCreateAlignedTimeseriesReq",
    "TSCreateMultiTimeseriesReq",
    "TSCreateSchemaTemplateReq",
    "TSCreateTimeseriesReq",
    "TSDeleteDataReq",
    "TSDropSchemaTemplateReq",
    "TSExecuteBatchStatementReq",
    "TSExecuteStatementReq",
    "TSExecuteStatementResp",
    "TSFastLastDataQueryForOneDeviceReq",
    "TSFastLastDataQueryForOnePrefixPathReq",
    "TSFetchMetadataReq",
    "TSFetchMetadataResp",
    "TSFetchResultsReq",
    "TSFetchResultsResp",
    "TSGetTimeZoneResp",
    "TSGroupByQueryIntervalReq",
    "TSInsertRecordReq",
    "TSInsertRecordsOfOneDeviceReq",
    "TSInsertRecordsReq",
    "TSInsertStringRecordReq",
    "TSInsertStringRecordsOfOneDeviceReq",
    "TSInsertStringRecordsReq",
    "TSInsertTabletReq",
    "TSInsertTabletsReq",
    "TSLastDataQueryReq",
    "TSOpenSessionReq",
    "TSOpenSessionResp",
    "TSProtocolVersion",
    "TSPruneSchemaTemplateReq",
    "TSQueryDataSet",
    "TSQueryNonAlignDataSet",
    "TSQueryTemplateReq",
    "TSQueryTemplateResp",
    "TSRawDataQueryReq",
    "TSSetSchemaTemplateReq",
    "TSSetTimeZoneReq",
    "TSStatus",
    "TSTracingInfo",
    "TSUnsetSchemaTemplateReq",
    "TSyncIdentityInfo",
    "TSyncTransportMetaInfo",
    "decode_reply",
    "dispatch_message",
    "encode_call",
    "encode_pipe_transfer_call",
    "error_result",
    "status_from_thrift",
    "status_to_thrift",
    "unsupported_result",
]

log = logging.getLogger("pipecore.rpc")

BINARY = "binary"
COMPACT = "compact"
_BINARY_FIRST_BYTE = 0x80  # strict binary: i32 0x8001000t
_COMPACT_FIRST_BYTE = 0x82  # compact protocol id


# ---------------------------------------------------------------- status conversion


def status_to_thrift(status: Status) -> TSStatus:
    out = TSStatus(code=int(status.code), message=status.message)
    if status.sub_status:
        out.subStatus = [status_to_thrift(s) for s in status.sub_status]
    if status.redirect_node is not None:
        out.redirectNode = TEndPoint(status.redirect_node.ip, int(status.redirect_node.port))
    if status.need_retry is not None:
        out.needRetry = bool(status.need_retry)
    return out


def status_from_thrift(status: TSStatus) -> Status:
    node = status.redirectNode
    return Status(
        code=int(status.code) if status.code is not None else -1,
        message=status.message,
        sub_status=tuple(status_from_thrift(s) for s in status.subStatus or ()),
        redirect_node=Endpoint(node.ip, node.port) if node is not None else None,
        need_retry=status.needRetry,
    )


# ---------------------------------------------------------------- the method table


@attrs.frozen
class MethodSpec:
    """One method of the service: its argument and result structs, argument names in order."""

    name: str
    args_cls: type
    result_cls: type
    arg_names: tuple[str, ...]

    @property
    def result_spec(self) -> tuple[Any, ...] | None:
        spec = self.result_cls.thrift_spec  # type: ignore[attr-defined]
        return spec[0] if spec and spec[0] is not None else None


def _method_table() -> dict[str, MethodSpec]:
    table = {}
    for name, _ in inspect.getmembers(_service.Iface, inspect.isfunction):
        params = list(inspect.signature(getattr(_service.Iface, name)).parameters)[1:]
        table[name] = MethodSpec(
            name,
            getattr(_service, f"{name}_args"),
            getattr(_service, f"{name}_result"),
            tuple(params),
        )
    return table


METHODS: dict[str, MethodSpec] = _method_table()


def error_result(name: str, code: int, message: str) -> Any:
    """A failure answer to method `name`: a `TSStatus`, or its response struct with the status.

    Methods whose result has no status to carry (``requestStatementId``, ``getProperties``)
    raise TApplicationException instead, which becomes an exception reply.
    """
    status = TSStatus(code=int(code), message=message)
    spec = METHODS[name].result_spec
    if spec is not None and spec[1] == TType.STRUCT:
        cls = spec[3][0]
        if cls is TSStatus:
            return status
        if "status" in inspect.signature(cls).parameters:
            resp = cls(status=status)
            if cls is TSOpenSessionResp:
                resp.serverProtocolVersion = TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3
            if cls is TSFetchResultsResp:
                resp.hasResultSet, resp.isAlign = False, True
            if cls is TSGetTimeZoneResp:
                resp.timeZone = ""
            return resp
    kind = (
        TApplicationException.UNKNOWN_METHOD
        if code == TSStatusCode.UNSUPPORTED_OPERATION
        else TApplicationException.INTERNAL_ERROR
    )
    raise TApplicationException(kind, message)


def unsupported_result(name: str, message: str) -> Any:
    """`error_result` with UNSUPPORTED_OPERATION (300): nothing on this node implements `name`."""
    return error_result(name, TSStatusCode.UNSUPPORTED_OPERATION, message)


# ---------------------------------------------------------------- protocols


def _input_protocol(data: bytes | bytearray, kind: str) -> TProtocolBase:
    limit = max(len(data), 1)
    trans = TMemoryBuffer(bytes(data))
    if kind == COMPACT:
        return TCompactProtocolAccelerated(
            trans, string_length_limit=limit, container_length_limit=limit
        )
    return TBinaryProtocolAccelerated(
        trans, strictRead=True, string_length_limit=limit, container_length_limit=limit
    )


def _output_protocol(kind: str) -> tuple[TProtocolBase, TMemoryBuffer]:
    trans = TMemoryBuffer()
    if kind == COMPACT:
        return TCompactProtocolAccelerated(trans), trans
    return TBinaryProtocolAccelerated(trans, strictRead=True, strictWrite=True), trans


def protocol_of(data: bytes | bytearray) -> str:
    """BINARY or COMPACT from a message's first byte; RpcProtocolError for anything else."""
    first = data[0] if data else -1
    if first == _BINARY_FIRST_BYTE:
        return BINARY
    if first == _COMPACT_FIRST_BYTE:
        return COMPACT
    head = bytes(data[:8]).hex(" ")
    raise RpcProtocolError(f"not a Thrift message (binary or compact); it starts with {head}")


# ---------------------------------------------------------------- pipeTransfer fast path
#
# pipeTransfer carries bodies of up to hundreds of MiB (TsFile pieces). Its strict-binary call
# has a fixed shape, so it is written and read here without copying the body through Thrift's
# buffers; tests/rpc/test_rpc_wire.py proves the bytes equal the generated code's (and IoTDB's).
# Anything that deviates from the canonical shape takes the generic path.

_PIPE_TRANSFER_HEAD = struct.pack(">iI", -2147418111, 12) + b"pipeTransfer"  # 0x80010001 CALL
_CALL_FIXED = struct.Struct(">i3s3sb3sh3si")
_CALL_FIELDS = (b"\x0c\xff\xff", b"\x03\x00\x01", b"\x06\x00\x02", b"\x0b\x00\x03")


def encode_pipe_transfer_call(version: int, type_: int, body: bytes, seqid: int = 0) -> list[bytes]:
    """A strict-binary ``pipeTransfer`` call as buffers to send in order (body not copied)."""
    head = _PIPE_TRANSFER_HEAD + _CALL_FIXED.pack(
        seqid, _CALL_FIELDS[0], _CALL_FIELDS[1], version, _CALL_FIELDS[2], type_,
        _CALL_FIELDS[3], len(body),
    )  # fmt: skip
    return [head, body, b"\x00\x00"]  # end of TPipeTransferReq, end of the arguments


def _parse_pipe_transfer_call(data: bytes | bytearray) -> tuple[int, TPipeTransferReq] | None:
    """(seqid, request) of a canonical strict-binary pipeTransfer call, else None."""
    start = len(_PIPE_TRANSFER_HEAD)
    end = start + _CALL_FIXED.size
    if len(data) < end + 2 or data[:start] != _PIPE_TRANSFER_HEAD:
        return None
    seqid, f0, f1, version, f2, type_, f3, size = _CALL_FIXED.unpack_from(data, start)
    if (f0, f1, f2, f3) != _CALL_FIELDS or size < 0 or end + size + 2 != len(data):
        return None
    if data[end + size :] != b"\x00\x00":
        return None
    with memoryview(data) as view:
        body = bytes(view[end : end + size])
    return seqid, TPipeTransferReq(version, type_, body)


# ---------------------------------------------------------------- insertTablet fast path
#
# Session.insertTablet is the clients' bulk write: a strict-binary call whose value and time
# buffers are most of the frame. Its canonical shape (fields 1-7 in order, the optional
# isAligned, nothing else) is read here with `struct`, the two buffers as views of the frame
# (no copy through Thrift's buffers); anything else takes the generic path, which decides
# what it means. tests/rpc/test_insert_tablet_fastpath.py holds both paths equal.

_INSERT_TABLET_HEAD = struct.pack(">iI", -2147418111, 12) + b"insertTablet"
_I32 = struct.Struct(">i")
_SEQ_AND_ARG = struct.Struct(">ibh")  # seqid, the argument's field header (STRUCT, id 1)
_FIELD_I64 = struct.Struct(">bhq")
_FIELD_LEN = struct.Struct(">bhi")  # a string / binary field's header and length
_FIELD_LIST = struct.Struct(">bhbi")  # a list field's header, element type and count
_LAST_NAMES = threading.local()  # (count, their bytes, the names) last read on this thread


def _parse_insert_tablet_call(data: bytes | bytearray) -> tuple[int, Any] | None:
    """(seqid, TSInsertTabletReq) of a canonical strict-binary insertTablet call, else None.

    The request's ``values`` and ``timestamps`` are memoryviews of `data`."""
    pos = len(_INSERT_TABLET_HEAD)
    end = len(data)
    if end < pos + 64 or data[:pos] != _INSERT_TABLET_HEAD:
        return None
    view = memoryview(data).toreadonly()
    try:
        seqid, ftype, fid = _SEQ_AND_ARG.unpack_from(data, pos)
        if (ftype, fid) != (TType.STRUCT, 1):
            return None
        ftype, fid, session_id = _FIELD_I64.unpack_from(data, pos + 7)
        if (ftype, fid) != (TType.I64, 1):
            return None
        pos += 18
        ftype, fid, n = _FIELD_LEN.unpack_from(data, pos)
        if (ftype, fid) != (TType.STRING, 2) or n < 0 or pos + 7 + n > end:
            return None
        pos += 7
        prefix = str(view[pos : pos + n], "utf-8")
        pos += n
        ftype, fid, etype, count = _FIELD_LIST.unpack_from(data, pos)
        if (ftype, fid, etype) != (TType.LIST, 3, TType.STRING) or not 0 <= count <= end:
            return None
        pos += 8
        last = getattr(_LAST_NAMES, "seen", None)  # a client repeats its tablet's names
        if last is not None and last[0] == count and data[pos : pos + len(last[1])] == last[1]:
            measurements = list(last[2])  # the same bytes: the same names, as long
            pos += len(last[1])
        else:
            start = pos
            measurements = []
            for _ in range(count):
                (n,) = _I32.unpack_from(data, pos)
                if n < 0 or pos + 4 + n > end:
                    return None
                measurements.append(str(view[pos + 4 : pos + 4 + n], "utf-8"))
                pos += 4 + n
            _LAST_NAMES.seen = (count, bytes(view[start:pos]), tuple(measurements))
        blobs = []
        for want in (4, 5):
            ftype, fid, n = _FIELD_LEN.unpack_from(data, pos)
            if (ftype, fid) != (TType.STRING, want) or n < 0 or pos + 7 + n > end:
                return None
            blobs.append(view[pos + 7 : pos + 7 + n])
            pos += 7 + n
        ftype, fid, etype, count = _FIELD_LIST.unpack_from(data, pos)
        if (ftype, fid, etype) != (TType.LIST, 6, TType.I32) or not 0 <= count <= end:
            return None
        pos += 8
        types = list(struct.unpack_from(f">{count}i", data, pos))
        pos += 4 * count
        ftype, fid, size = _FIELD_LEN.unpack_from(data, pos)
        if (ftype, fid) != (TType.I32, 7):
            return None
        pos += 7
        aligned = None
        if data[pos] == TType.BOOL:
            if data[pos + 1 : pos + 3] != b"\x00\x08":
                return None
            aligned = data[pos + 3] != 0
            pos += 4
        if pos + 2 != end or data[pos] != 0 or data[pos + 1] != 0:
            return None  # other fields, or bytes after the call
    except (struct.error, IndexError, UnicodeDecodeError):
        return None
    req = TSInsertTabletReq(
        session_id, prefix, measurements, blobs[0], blobs[1], types, size, aligned
    )
    return seqid, req


def _status_reply(name: str, seqid: int, status: Any) -> bytes | None:
    """The strict-binary reply carrying a TSStatus that has only its code, else None."""
    if (
        type(status) is not TSStatus
        or type(status.code) is not int
        or not -(1 << 31) <= status.code < 1 << 31
        or status.message is not None
        or status.subStatus is not None
        or status.redirectNode is not None
        or status.needRetry is not None
    ):
        return None
    raw = name.encode()
    return b"".join(
        [
            _REPLY_HEAD.pack(-2147418110, len(raw)),  # 0x80010002 REPLY
            raw,
            _REPLY_STATUS.pack(seqid, TType.STRUCT, 0, TType.I32, 1, status.code),
            b"\x00\x00",  # end of TSStatus, end of the result
        ]
    )


_REPLY_HEAD = struct.Struct(">iI")
_REPLY_STATUS = struct.Struct(">ibhbhi")


# ---------------------------------------------------------------- server side

Handler = Callable[..., Any]


def dispatch_message(data: bytes | bytearray, lookup: Callable[[str], Handler]) -> bytes | None:
    """Decode one call, run ``lookup(name)(*args)``, return the encoded reply message.

    A ONEWAY call is run and answered with nothing (None).

    `lookup` returns the callable that implements a method (it may raise
    TApplicationException). A method this service does not declare is answered with an
    UNKNOWN_METHOD exception reply; an exception of the handler with INTERNAL_ERROR. Bytes that
    cannot be decoded raise RpcProtocolError: the caller closes the connection.
    """
    kind = protocol_of(data)
    fast = _parse_pipe_transfer_call(data)
    if fast is not None:
        seqid, req = fast
        return _run(kind, "pipeTransfer", seqid, lookup, (req,))
    fast = _parse_insert_tablet_call(data)
    if fast is not None:
        seqid, req = fast
        return _run(kind, "insertTablet", seqid, lookup, (req,))
    iprot = _input_protocol(data, kind)
    try:
        name, mtype, seqid = iprot.readMessageBegin()
        if mtype not in (TMessageType.CALL, TMessageType.ONEWAY):
            raise RpcProtocolError(f"message type {mtype} where a call was expected")
        spec = METHODS.get(name)
        if spec is None:
            iprot.skip(TType.STRUCT)
            return _encode_exception(
                kind, name, seqid, TApplicationException.UNKNOWN_METHOD, f"Unknown function {name}"
            )
        args = spec.args_cls()
        args.read(iprot)
        iprot.readMessageEnd()
    except RpcProtocolError:
        raise
    except Exception as exc:  # any decoding failure of foreign bytes
        raise RpcProtocolError(f"undecodable {kind} Thrift message: {exc!r}") from exc
    reply = _run(kind, name, seqid, lookup, tuple(getattr(args, a) for a in spec.arg_names))
    return None if mtype == TMessageType.ONEWAY else reply


def _run(
    kind: str, name: str, seqid: int, lookup: Callable[[str], Handler], args: tuple[Any, ...]
) -> bytes:
    spec = METHODS[name]
    try:
        result = spec.result_cls()
        result.success = lookup(name)(*args)
    except TApplicationException as exc:
        return _encode_exception(kind, name, seqid, exc.type, exc.message or str(exc))
    except Exception as exc:
        log.exception("RPC %s failed in its handler", name)
        return _encode_exception(
            kind, name, seqid, TApplicationException.INTERNAL_ERROR, f"Internal error: {exc!r}"
        )
    if kind == BINARY:
        quick = _status_reply(name, seqid, result.success)
        if quick is not None:
            return quick
    oprot, out = _output_protocol(kind)
    oprot.writeMessageBegin(name, TMessageType.REPLY, seqid)
    result.write(oprot)
    oprot.writeMessageEnd()
    return out.getvalue()


def _encode_exception(kind: str, name: str, seqid: int, type_: int, message: str) -> bytes:
    oprot, out = _output_protocol(kind)
    oprot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
    TApplicationException(type_, message).write(oprot)
    oprot.writeMessageEnd()
    return out.getvalue()


# ---------------------------------------------------------------- client side


def encode_call(name: str, seqid: int = 0, protocol: str = BINARY, **args: Any) -> bytes:
    """The message bytes (unframed) of a call of `name` with keyword arguments."""
    spec = METHODS[name]
    oprot, out = _output_protocol(protocol)
    oprot.writeMessageBegin(name, TMessageType.CALL, seqid)
    spec.args_cls(**args).write(oprot)
    oprot.writeMessageEnd()
    return out.getvalue()


def decode_reply(name: str, data: bytes | bytearray, peer: str | None = None) -> Any:
    """The `success` value of a reply to `name`; RpcApplicationError for an exception reply."""
    kind = protocol_of(data)
    iprot = _input_protocol(data, kind)
    try:
        rname, mtype, _ = iprot.readMessageBegin()
        if mtype == TMessageType.EXCEPTION:
            exc = TApplicationException()
            exc.read(iprot)
            raise RpcApplicationError(
                f"{name} failed on the server: {exc.message}", exc.type or 0, peer
            )
        if mtype != TMessageType.REPLY or rname != name:
            raise RpcProtocolError(f"expected a reply to {name}, got {rname!r} type {mtype}", peer)
        result = METHODS[name].result_cls()
        result.read(iprot)
    except (RpcApplicationError, RpcProtocolError):
        raise
    except Exception as exc:
        raise RpcProtocolError(f"undecodable reply to {name}: {exc!r}", peer) from exc
    if result.success is None and METHODS[name].result_spec is not None:
        raise RpcProtocolError(f"the reply to {name} carries no result", peer)
    return result.success
