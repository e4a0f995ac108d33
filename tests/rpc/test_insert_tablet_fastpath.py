"""The insertTablet fast paths give what the generic Thrift paths give.

* `_parse_insert_tablet_call` reads what the official client sends (apache-iotdb's generated
  code, the oracle) into the request the generic decoder makes, or declines (None) and leaves
  the call to the generic path: extra fields, the compact protocol, damaged bytes.
* `_status_reply` writes the reply bytes the generated code writes.
* `decode_tablet`'s one-call decoding of fixed-width columns gives the column-by-column read.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iotdb.thrift.rpc import IClientRPCService as official_service
from iotdb.thrift.rpc.ttypes import TSInsertTabletReq as OfficialReq
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.transport import TTransport

from pipecore.rpc import thrift as facade
from pipecore.rpc.errors import RpcProtocolError
from pipecore.server.clientrpc import decoding
from pipecore_storage.types import TSDataType

_I32 = st.integers(-(2**31), 2**31 - 1)
_FIELDS = ("sessionId", "prefixPath", "measurements", "values", "timestamps", "types", "size",
           "isAligned")  # fmt: skip


@st.composite
def official_requests(draw, extra_fields: bool = True):
    req = OfficialReq(
        draw(st.integers(-(2**63), 2**63 - 1)),
        draw(st.text(max_size=20)),
        draw(st.lists(st.text(max_size=8), max_size=6)),
        draw(st.binary(max_size=200)),
        draw(st.binary(max_size=80)),
        draw(st.lists(_I32, max_size=6)),
        draw(_I32),
        draw(st.none() | st.booleans()),
    )
    if extra_fields and draw(st.integers(0, 3)) == 0:
        req.writeToTable = draw(st.booleans())
        req.columnCategories = draw(st.lists(st.integers(-128, 127), max_size=3))
    return req


def official_call(req, seqid: int = 0, protocol=TBinaryProtocol.TBinaryProtocol) -> bytes:
    """The unframed call message the official Python client sends."""
    out = TTransport.TMemoryBuffer()
    client = official_service.Client(protocol(TTransport.TFramedTransport(out)))
    client._seqid = seqid
    client.send_insertTablet(req)
    return out.getvalue()[4:]


def _generic(data: bytes):
    """(seqid, request) as the generic path decodes it, or the RpcProtocolError it raises."""
    seen = {}

    def lookup(name):
        def call(req):
            seen["req"] = req
            return facade.TSStatus(code=200)

        return call

    with mock.patch.object(facade, "_parse_insert_tablet_call", return_value=None):
        try:
            reply = facade.dispatch_message(data, lookup)
        except RpcProtocolError as exc:
            return exc
    return reply, seen.get("req")


def _fields(req) -> tuple:
    return tuple(
        bytes(getattr(req, f)) if f in ("values", "timestamps") else getattr(req, f)
        for f in _FIELDS
    )


@settings(max_examples=300, deadline=None)
@given(official_requests(), st.integers(0, 2**31 - 1))
def test_the_fast_parse_reads_what_the_official_client_sends(req, seqid):
    data = official_call(req, seqid)
    fast = facade._parse_insert_tablet_call(data)
    if req.writeToTable is not None:
        assert fast is None  # a table-model request: the generic path decides
        return
    assert fast is not None
    got_seqid, got = fast
    assert got_seqid == seqid
    _, generic = _generic(data)
    assert _fields(got) == _fields(generic)
    assert isinstance(got.values, memoryview)  # the frame's bytes, not a copy


def test_the_compact_protocol_takes_the_generic_path():
    req = OfficialReq(1, "root.sg.d", ["s"], b"\x00" * 8, b"\x00" * 8, [4], 1, False)
    data = official_call(req, protocol=TCompactProtocol.TCompactProtocol)
    assert facade._parse_insert_tablet_call(data) is None


@settings(max_examples=300, deadline=None)
@given(official_requests(extra_fields=False), st.data())
def test_damaged_calls_are_declined_or_read_as_the_generic_path_reads_them(req, data):
    raw = bytearray(official_call(req, 5))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255).filter(lambda b, old=raw[at]: b != old))
    fast = facade._parse_insert_tablet_call(raw)
    if fast is None:
        return
    generic = _generic(bytes(raw))
    assert not isinstance(generic, RpcProtocolError), generic
    assert _fields(fast[1]) == _fields(generic[1])


def _generic_reply(name: str, seqid: int, status) -> bytes:
    with mock.patch.object(facade, "_status_reply", return_value=None):
        return facade.dispatch_message(
            facade.encode_call(name, seqid, req=_request_of(name)), lambda _: lambda *_: status
        )


def _request_of(name: str):
    spec = facade.METHODS[name].args_cls.thrift_spec
    if not spec or len(spec) < 2 or spec[1] is None or spec[1][1] != 12:
        return None
    return spec[1][3][0]()


_STATUS_METHODS = sorted(
    name
    for name, spec in facade.METHODS.items()
    if spec.result_spec is not None
    and spec.result_spec[3] is not None
    and spec.result_spec[3][0] is facade.TSStatus
    and len(spec.arg_names) == 1
    and _request_of(name) is not None
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_STATUS_METHODS), st.integers(0, 2**31 - 1), _I32)
def test_a_status_reply_is_what_the_generated_code_writes(name, seqid, code):
    status = facade.TSStatus(code=code)
    fast = facade._status_reply(name, seqid, status)
    assert fast == _generic_reply(name, seqid, status)


@pytest.mark.parametrize(
    "status",
    [
        facade.TSStatus(code=200, message="ok"),
        facade.TSStatus(code=302, subStatus=[facade.TSStatus(code=200)]),
        facade.TSStatus(code=200, needRetry=False),
        facade.TSStatus(code=2**31),
    ],
)
def test_other_statuses_take_the_generated_code(status):
    assert facade._status_reply("insertTablet", 1, status) is None


# ---------------------------------------------------------------- column decoding
_FIXED = [TSDataType.BOOLEAN, TSDataType.INT32, TSDataType.INT64, TSDataType.FLOAT,
          TSDataType.DOUBLE, TSDataType.DATE, TSDataType.TIMESTAMP]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_FIXED), min_size=1, max_size=5)
    | st.sampled_from(_FIXED).flatmap(lambda t: st.integers(1, 5).map(lambda n: [t] * n)),
    st.integers(0, 40),
    st.data(),
)
def test_one_call_decoding_equals_the_column_by_column_read(types, rows, data):
    size = sum(np.dtype(decoding._FIXED[t]).itemsize for t in types) * rows
    values = data.draw(st.binary(min_size=size, max_size=size))
    times = data.draw(st.binary(min_size=8 * rows, max_size=8 * rows))
    names = [f"m{i}" for i in range(len(types))]
    numbers = [int(t) for t in types]
    fast = decoding.decode_tablet("root.sg.d", names, numbers, rows, times, values)
    with mock.patch.object(decoding, "_fixed_row_bytes", return_value=-1):
        slow = decoding.decode_tablet("root.sg.d", names, numbers, rows, times, values)
    assert fast[0].tolist() == slow[0].tolist()
    assert fast[1] == slow[1] and fast[3] == slow[3]
    for a, b in zip(fast[2], slow[2], strict=True):
        assert a.dtype == b.dtype and a.dtype.isnative
        assert a.tobytes() == b.tobytes()  # NaN payloads too


def test_names_read_again_from_the_same_bytes_only():
    """The parse keeps the last names it read (a client repeats them): a call whose names'
    bytes differ, or whose count differs, is read afresh."""
    calls = [
        OfficialReq(1, "root.sg.d", ["s0", "s1"], b"\x00" * 16, b"\x00" * 8, [4, 4], 1, False),
        OfficialReq(1, "root.sg.d", ["s0", "s2"], b"\x00" * 16, b"\x00" * 8, [4, 4], 1, False),
        OfficialReq(1, "root.sg.d", ["s0"], b"\x00" * 8, b"\x00" * 8, [4], 1, False),
        OfficialReq(1, "root.sg.d", ["s0", "s2"], b"\x00" * 16, b"\x00" * 8, [4, 4], 1, None),
    ]
    for req in calls + calls[::-1]:
        data = official_call(req, 3)
        assert _fields(facade._parse_insert_tablet_call(data)[1]) == _fields(_generic(data)[1])
