"""`pipecore.rpc.connect_from` and the sinks' ``send-port.*`` options: connections leave from
the allowed local ports only, a port in use is skipped, and none left is a clear error."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator

import pytest

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore.rpc import connect_from
from pipecore_thrift_sink import SinkOptions


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server


def _free_ports(n: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


def test_connection_leaves_from_an_allowed_port(listener: socket.socket) -> None:
    ports = _free_ports(3)
    with connect_from(listener.getsockname(), 2.0, ports) as sock:
        assert sock.getsockname()[1] in ports


def test_a_port_in_use_is_skipped(listener: socket.socket) -> None:
    for _ in range(4):  # whatever the random start, the busy port is never used
        busy, free = _free_ports(2)
        with socket.socket() as holder:
            holder.bind(("0.0.0.0", busy))
            with connect_from(listener.getsockname(), 2.0, [busy, free]) as sock:
                assert sock.getsockname()[1] == free


def test_no_port_left_is_an_error(listener: socket.socket) -> None:
    (busy,) = _free_ports(1)
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", busy))
        with pytest.raises(OSError, match="no free local send port") as info:
            connect_from(listener.getsockname(), 2.0, [busy])
    assert info.value.errno == errno.EADDRINUSE


def test_no_ports_means_any(listener: socket.socket) -> None:
    with connect_from(listener.getsockname(), 2.0) as sock:
        assert sock.getsockname()[1] > 0


def _options(**extra: str) -> SinkOptions:
    return SinkOptions.parse(PipeParameters({"sink.node-urls": "127.0.0.1:6667", **extra}))


def test_send_port_options() -> None:
    assert _options().send_ports == ()
    assert _options(
        **{"send-port.range.min": "2000", "send-port.range.max": "2010"}
    ).send_ports == (range(2000, 2011))
    assert _options(**{"connector.send-port.restriction-strategy": "range"}).send_ports == range(
        1024, 65536
    )
    candidate = {"sink.send-port.restriction-strategy": "candidate"}
    assert _options(**candidate, **{"send-port.candidate": "1024, 1030,1024"}).send_ports == (
        1024,
        1030,
    )
    for bad in (
        {"send-port.range.min": "3000", "send-port.range.max": "2000"},
        {"send-port.range.max": "70000"},
        {**candidate},
        {**candidate, "send-port.candidate": "1024,x"},
        {"send-port.restriction-strategy": "nearest"},
    ):
        with pytest.raises(PipeParameterNotValidError):
            _options(**bad)
