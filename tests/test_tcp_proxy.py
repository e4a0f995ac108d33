"""The tests' one TCP proxy (`tests/tcp_proxy.py`) does what the fault tests rely on: it
counts bytes, delays, cuts, flips and records — checked against a real echo server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from tcp_proxy import CuttingProxy, FrameBreakingProxy, RecordingProxy, TcpProxy


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


def _exchange(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send `payload`, then read until it all came back or the peer closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        got = bytearray()
        while len(got) < len(payload):
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return bytes(got)


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_counts_bytes_each_way_and_delays(echo: int) -> None:
    proxy = TcpProxy(echo, delay=0.2)
    try:
        started = time.monotonic()
        assert _exchange(proxy.port, b"x" * 1000) == b"x" * 1000
        assert time.monotonic() - started >= 0.4  # held once each way
        _wait(lambda: (proxy.up, proxy.down) == (1000, 1000))
        assert proxy.reset() == (1000, 1000)
        assert _exchange(proxy.port, b"abc") == b"abc"
        _wait(lambda: (proxy.up, proxy.down) == (3, 3))
        assert proxy.reset() == (3, 3)
        assert proxy.reset() == (0, 0)
        assert proxy.connections == 2
    finally:
        proxy.close()


def test_cutting_closes_after_its_budget_then_passes_when_told(echo: int) -> None:
    proxy = CuttingProxy(echo, min_bytes=100, max_bytes=100)
    try:
        assert len(_exchange(proxy.port, b"y" * 1000)) < 1000
        assert proxy.cuts == 1
        proxy.cutting = False
        assert _exchange(proxy.port, b"y" * 1000) == b"y" * 1000
        assert proxy.cuts == 1 and proxy.connections == 2
    finally:
        proxy.close()


def test_a_flipped_bit_reaches_the_target(echo: int) -> None:
    proxy = FrameBreakingProxy(echo, faults=1, kinds=("flip",), span=100)
    try:
        payload = bytes(200)
        back = _exchange(proxy.port, payload)
        assert len(back) == 200 and back != payload
        assert sum(bin(b).count("1") for b in back) == 1
        assert proxy.done["flip"] == 1
        assert _exchange(proxy.port, payload) == payload  # no fault left
    finally:
        proxy.close()


def test_recording_keeps_what_the_client_sent(echo: int) -> None:
    proxy = RecordingProxy(echo)
    try:
        assert _exchange(proxy.port, b"hello") == b"hello"
        assert bytes(proxy.sent) == b"hello"
    finally:
        proxy.close()
