"""Connections cannot starve the node: idle connections make room for new clients at the
limit, a connection that says nothing is closed, and a frame's buffer grows only with the
bytes that arrive (announcing 512 MiB and sending one byte reserves nothing big)."""

from __future__ import annotations

import socket
import struct
import time
import tracemalloc

from test_rpc_server import EchoReceiver, client, wait_for

from pipecore.rpc import RpcServer


def _server(**kw) -> RpcServer:
    closed: list[int] = []
    srv = RpcServer("127.0.0.1", 0, **kw)
    srv.register_pipe_receiver(lambda ctx: EchoReceiver(ctx, closed))
    return srv.start()


def test_idle_connections_cannot_lock_new_clients_out():
    srv = _server(max_connections=20)
    srv.evict_idle_after = 0.2
    idle = [socket.create_connection(srv.address) for _ in range(20)]
    try:
        assert wait_for(lambda: len(srv.connections()) == 20)
        time.sleep(0.3)
        for _ in range(3):  # every new client gets in, one idle connection goes each time
            c = client(srv)
            assert c.transfer(1, 1, b"x").code == 200
            c.close()
        assert len(srv.connections()) <= 20
    finally:
        for s in idle:
            s.close()
        srv.stop()


def test_a_silent_connection_is_closed_after_the_first_frame_timeout():
    srv = _server(first_frame_timeout=0.3)
    s = socket.create_connection(srv.address)
    try:
        s.settimeout(5)
        assert s.recv(1) == b""  # closed by the server, without a word
        c = client(srv)  # a talking client is not affected by the timeout once it talked
        assert c.transfer(1, 1, b"x").code == 200
        time.sleep(0.5)
        assert c.transfer(1, 1, b"y").code == 200
        c.close()
    finally:
        s.close()
        srv.stop()


def test_announcing_a_huge_frame_reserves_only_what_arrives():
    srv = _server(max_connections=50)
    socks = []
    tracemalloc.start()
    try:
        for _ in range(30):
            s = socket.create_connection(srv.address)
            s.sendall(struct.pack(">i", 512 << 20) + b"\x80")
            socks.append(s)
        assert wait_for(lambda: len(srv.connections()) == 30)
        time.sleep(0.2)
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        for s in socks:
            s.close()
        srv.stop()
    assert current < 32 << 20  # before: 16 MiB per connection, 480 MiB here
