"""The synchronous clients: timeouts, refused connections, reconnects, exception replies."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from pipecore.rpc import (
    PipeTransferClient,
    PipeTransferResponse,
    RpcApplicationError,
    RpcClient,
    RpcConnectionError,
    RpcProtocolError,
    RpcServer,
    RpcTimeoutError,
    Status,
)
from pipecore.rpc import thrift as t
from pipecore.rpc.framing import FrameReader, frame_header


@pytest.fixture
def silent_server():
    """Accepts connections and reads, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    conns = []
    stop = threading.Event()

    def run():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conns.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=run)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join()
    for c in conns:
        c.close()
    listener.close()


def test_no_reply_times_out_and_the_next_call_reconnects(silent_server):
    c = PipeTransferClient(*silent_server, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(RpcTimeoutError, match=r"no reply to pipeTransfer within 0\.3s") as info:
        c.transfer(1, 1, b"x")
    assert time.monotonic() - started < 2
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, ConnectionError)
    assert not c.connected
    c.set_timeout(0.1)
    with pytest.raises(RpcTimeoutError):
        c.transfer(1, 1, b"x")


def test_refused_connection_is_a_clear_error():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(RpcConnectionError, match=f"127.0.0.1:{port}: cannot connect"):
        PipeTransferClient("127.0.0.1", port, timeout=1).transfer(1, 1, b"")


class Flaky:
    def __init__(self, ctx):
        pass

    def transfer(self, version, type, body):
        return PipeTransferResponse(Status(1803, "reset", (Status(200),)), b"\0" * 8)

    def close(self):
        pass


def test_client_reconnects_after_the_server_restarts():
    srv = RpcServer("127.0.0.1", 0)
    srv.register_pipe_receiver(Flaky)
    srv.start()
    port = srv.address[1]
    c = PipeTransferClient("127.0.0.1", port, timeout=5)
    full = c.transfer_response(1, 4, b"")
    assert full.status.code == 1803 and full.status.sub_status[0].code == 200
    assert full.body == b"\0" * 8
    srv.stop()
    with pytest.raises(RpcConnectionError):
        c.transfer(1, 4, b"")
    srv2 = RpcServer("127.0.0.1", port)
    srv2.register_pipe_receiver(Flaky)
    with srv2:
        assert c.transfer(1, 4, b"").code == 1803
    c.close()


def test_exception_reply_keeps_the_connection(monkeypatch):
    with RpcServer("127.0.0.1", 0) as srv, RpcClient(*srv.address, timeout=5) as c:
        with pytest.raises(RpcApplicationError, match="getProperties") as info:
            c.call("getProperties")
        assert info.value.type == t.TApplicationException.UNKNOWN_METHOD
        sock = c._sock
        assert c.call("testConnectionEmptyRPC").code == 200
        assert c._sock is sock


def test_a_server_reply_over_the_frame_limit_is_refused():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer():
        conn, _ = listener.accept()
        with conn:
            FrameReader(conn, 1 << 20).read_frame()
            conn.sendall(frame_header(2**30))

    thread = threading.Thread(target=answer)
    thread.start()
    c = PipeTransferClient(*listener.getsockname(), timeout=5, max_frame_size=1 << 20)
    with pytest.raises(RpcProtocolError, match="larger than protect max size"):
        c.transfer(1, 1, b"")
    assert not c.connected
    thread.join()
    listener.close()


def test_compact_protocol_client():
    with RpcServer("127.0.0.1", 0) as srv, RpcClient(*srv.address, protocol=t.COMPACT) as c:
        assert c.call("testConnectionEmptyRPC").code == 200
