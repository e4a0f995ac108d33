"""The RPC server over real sockets: per-connection receivers, limits, garbage, shutdown."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import pytest
from iotdb.thrift.rpc import IClientRPCService as official_service
from iotdb.thrift.rpc.ttypes import TPipeTransferReq as OfficialReq
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport import TSocket, TTransport

from pipecore.rpc import (
    PipeTransferClient,
    PipeTransferResponse,
    RpcApplicationError,
    RpcConnectionError,
    RpcServer,
    Status,
    TSStatusCode,
)
from pipecore.rpc import thrift as facade
from pipecore.rpc.framing import frame_header


class EchoReceiver:
    """Answers 200 with ``<connection id>:<count>`` so tests see per-connection state."""

    def __init__(self, context, closed: list):
        self.context = context
        self.count = 0
        self.closed = closed

    def transfer(self, version, type, body):
        self.count += 1
        if body == b"boom":
            raise RuntimeError("receiver exploded")
        message = f"{self.context.connection_id}:{self.count}"
        return PipeTransferResponse(Status(200, message), body[::-1])

    def close(self):
        self.closed.append(self.context.connection_id)


@pytest.fixture
def server():
    closed: list[int] = []
    srv = RpcServer("127.0.0.1", 0, max_frame_size=64 * 1024, max_connections=4)
    srv.register_pipe_receiver(lambda ctx: EchoReceiver(ctx, closed))
    srv.closed = closed
    srv.start()
    yield srv
    srv.stop()


def client(srv, timeout=5.0) -> PipeTransferClient:
    return PipeTransferClient(*srv.address, timeout=timeout)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def official_client(srv, protocol=TBinaryProtocol.TBinaryProtocol):
    sock = TSocket.TSocket(*srv.address)
    sock.setTimeout(5000)
    transport = TTransport.TFramedTransport(sock)
    transport.open()
    return official_service.Client(protocol(transport)), transport


def test_official_client_talks_to_the_server(server):
    c, transport = official_client(server)
    try:
        resp = c.pipeTransfer(OfficialReq(1, 1, b"\x00\x00\x00\x02ms"))
        assert resp.status.code == 200 and resp.body == b"sm\x02\x00\x00\x00"
        resp = c.pipeTransfer(OfficialReq(1, 3, b"abc"))
        assert resp.status.message.endswith(":2")
    finally:
        transport.close()


def test_official_compact_client_is_served_too(server):
    c, transport = official_client(server, TCompactProtocol.TCompactProtocol)
    try:
        assert c.pipeTransfer(OfficialReq(1, 1, b"x")).status.code == 200
    finally:
        transport.close()


def test_each_connection_has_its_own_receiver_closed_with_it(server):
    a, b = client(server), client(server)
    assert a.transfer(1, 1, b"a").message.endswith(":1")
    assert a.transfer(1, 1, b"a").message.endswith(":2")
    first = b.transfer(1, 1, b"b").message
    assert first.endswith(":1")
    ida = int(a.transfer(1, 1, b"a").message.split(":")[0])
    a.close()
    assert wait_for(lambda: ida in server.closed)
    assert b.transfer(1, 1, b"b").message.endswith(":2")
    b.close()
    assert wait_for(lambda: len(server.closed) == 2)
    assert wait_for(lambda: server.connections() == [])


def test_connection_context_describes_the_peer(server):
    contexts = []
    server.register_pipe_receiver(
        lambda ctx: contexts.append(ctx) or EchoReceiver(ctx, []), replace=True
    )
    with client(server) as c:
        c.transfer(1, 1, b"")
        local_port = c._sock.getsockname()[1]
    [ctx] = contexts
    assert ctx.remote_address == ("127.0.0.1", local_port)
    assert ctx.local_address[1] == server.address[1] and not ctx.tls
    assert ctx.transport == "thrift"


def test_receiver_exception_becomes_pipe_error_and_connection_survives(server):
    with client(server) as c:
        reply = c.transfer(1, 3, b"boom")
        assert reply.code == TSStatusCode.PIPE_ERROR
        assert "receiver exploded" in reply.message
        assert c.transfer(1, 3, b"ok").code == 200


def test_no_registered_receiver_answers_pipe_error():
    with RpcServer("127.0.0.1", 0) as srv, client(srv) as c:
        reply = c.transfer(1, 1, b"")
        assert reply.code == 1107 and "no pipe receiver" in reply.message


def test_frame_over_the_limit_closes_only_that_connection(server, caplog):
    caplog.set_level(logging.WARNING, "pipecore.rpc.server")
    good = client(server)
    assert good.transfer(1, 1, b"x").code == 200
    bad = client(server)
    with pytest.raises(RpcConnectionError):
        bad.transfer(1, 4, b"\0" * 100_000)
    assert wait_for(lambda: "larger than protect max size (65536)" in caplog.text)
    assert good.transfer(1, 1, b"x").code == 200
    good.close()


def raw_connection(srv) -> socket.socket:
    sock = socket.create_connection(srv.address, timeout=5)
    return sock


def closed_by_peer(sock) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(
    ("data", "log"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP GET request"),
        (b"POST /rest HTTP/1.1\r\n\r\n", "HTTP POST request"),
        (frame_header(12) + b"garbage-here", "not a Thrift message"),
        (frame_header(-5), "invalid frame size -5"),
        (frame_header(8) + b"\x80\x01\x00\x01\x7f\xff\xff\xff", "undecodable"),
        (frame_header(0), "invalid frame size 0"),
    ],
)
def test_garbage_closes_that_connection_and_others_are_unaffected(server, caplog, data, log):
    caplog.set_level(logging.WARNING, "pipecore.rpc.server")
    good = client(server)
    assert good.transfer(1, 1, b"x").code == 200
    with raw_connection(server) as sock:
        sock.sendall(data)
        assert closed_by_peer(sock)
    assert wait_for(lambda: log in caplog.text), caplog.text
    assert good.transfer(1, 1, b"x").code == 200
    good.close()


def test_non_strict_binary_messages_are_refused(server, caplog):
    caplog.set_level(logging.WARNING, "pipecore.rpc.server")
    c, transport = official_client(
        server, lambda t: TBinaryProtocol.TBinaryProtocol(t, False, False)
    )
    with pytest.raises((TTransport.TTransportException, EOFError, ConnectionError)):
        c.pipeTransfer(OfficialReq(1, 1, b"x"))
    transport.close()
    assert wait_for(lambda: "not a Thrift message" in caplog.text)


def test_unknown_method_gets_an_application_exception_and_the_connection_lives(server):
    c, transport = official_client(server)
    try:
        with pytest.raises(TApplicationException) as info:
            c.showConfigurationTemplate()  # not in pipecore's IDL
        assert info.value.type == TApplicationException.UNKNOWN_METHOD
        assert c.pipeTransfer(OfficialReq(1, 1, b"x")).status.code == 200
    finally:
        transport.close()


def call_without_body() -> bytes:
    """A pipeTransfer call whose TPipeTransferReq lacks its required body (field 3)."""
    out = TTransport.TMemoryBuffer()
    p = TBinaryProtocol.TBinaryProtocol(out)
    p.writeMessageBegin("pipeTransfer", TMessageType.CALL, 0)
    p.writeStructBegin("args")
    p.writeFieldBegin("req", TType.STRUCT, -1)
    p.writeStructBegin("req")
    p.writeFieldBegin("version", TType.BYTE, 1)
    p.writeByte(1)
    p.writeFieldBegin("type", TType.I16, 2)
    p.writeI16(1)
    p.writeFieldStop()
    p.writeFieldStop()
    p.writeMessageEnd()
    return out.getvalue()


def test_missing_body_is_a_protocol_error_reply(server):
    msg = call_without_body()
    with raw_connection(server) as sock:
        sock.sendall(frame_header(len(msg)) + msg)
        size = struct.unpack(">i", sock.recv(4))[0]
        data = b""
        while len(data) < size:
            data += sock.recv(size - len(data))
        with pytest.raises(RpcApplicationError, match="version, type and body") as info:
            facade.decode_reply("pipeTransfer", data)
        assert info.value.type == TApplicationException.PROTOCOL_ERROR


def test_test_connection_rpc(server):
    c, transport = official_client(server)
    try:
        assert c.testConnectionEmptyRPC().code == 200
    finally:
        transport.close()


def test_connections_beyond_the_maximum_are_refused(server, caplog):
    caplog.set_level(logging.WARNING, "pipecore.rpc.server")
    clients = [client(server) for _ in range(4)]
    for c in clients:
        assert c.transfer(1, 1, b"").code == 200
    extra = client(server)
    with pytest.raises(RpcConnectionError):
        extra.transfer(1, 1, b"")
    # the accept thread logs after closing the socket: the client may see the close first
    assert wait_for(lambda: "refusing connection" in caplog.text)
    clients[0].close()
    assert wait_for(lambda: len(server.connections()) == 3)
    assert extra.transfer(1, 1, b"").code == 200
    for c in [*clients[1:], extra]:
        c.close()


def rpc_threads():
    return [t for t in threading.enumerate() if t.name.startswith("pipecore-rpc")]


def test_stop_closes_everything_and_leaves_no_thread():
    closed: list[int] = []
    srv = RpcServer("127.0.0.1", 0)
    srv.register_pipe_receiver(lambda ctx: EchoReceiver(ctx, closed))
    srv.start()
    busy = [client(srv) for _ in range(3)]
    for c in busy:
        c.transfer(1, 1, b"")
    idle = raw_connection(srv)  # connected, never sends
    half = raw_connection(srv)
    half.sendall(frame_header(1000) + b"partial")  # stuck inside a frame
    assert wait_for(lambda: len(srv.connections()) == 5)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 3
    assert rpc_threads() == []
    assert len(closed) == 3  # every receiver was closed with its connection
    for c in busy:
        with pytest.raises(RpcConnectionError):
            c.transfer(1, 1, b"")
    with pytest.raises(RpcConnectionError):
        client(srv).transfer(1, 1, b"")
    for s in (idle, half):
        s.close()
    srv.stop()  # idempotent


def test_port_in_use_is_a_clear_error(server):
    with pytest.raises(RpcConnectionError, match=r"cannot listen on 127\.0\.0\.1"):
        RpcServer("127.0.0.1", server.address[1]).start()


def test_frames_up_to_the_limit_are_served(server):
    with client(server) as c:
        body = b"\x01" * (64 * 1024 - 100)
        assert c.transfer(1, 4, body).body == body[::-1]


def test_large_frames_on_a_default_server():
    with RpcServer("127.0.0.1", 0) as srv:
        srv.register_pipe_receiver(lambda ctx: EchoReceiver(ctx, []))
        with client(srv, timeout=30) as c:
            body = bytes(range(256)) * (24 * 1024 * 4)  # 24 MiB: grows the read buffer
            assert c.transfer(1, 4, body).body == body[::-1]


def test_a_client_that_sends_a_call_in_pieces_is_served(server):
    msg = facade.encode_call("pipeTransfer", req=facade.TPipeTransferReq(1, 1, b"slow"))
    frame = frame_header(len(msg)) + msg
    with raw_connection(server) as sock:
        for i in range(len(frame)):
            sock.sendall(frame[i : i + 1])
        size = struct.unpack(">i", sock.recv(4))[0]
        data = b""
        while len(data) < size:
            data += sock.recv(size - len(data))
    resp = facade.decode_reply("pipeTransfer", data)
    assert resp.status.code == 200 and resp.body == b"wols"
