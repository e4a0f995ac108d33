"""``websocket-sink`` with a real WebSocket client (the ``websockets`` package): IoTDB's
BIND / READY / ACK / ERROR protocol, tablets in ``Tablet.serialize`` form after an 8-byte event
id, resending what was not acknowledged, and the parameter check."""

from __future__ import annotations

import asyncio
import socket
import struct

import numpy as np
import pytest
from websockets.asyncio.client import connect

from pipecore import Node
from pipecore.sql.outcome import StatementError
from pipecore.testing import wait_until
from pipecore_thrift_sink.protocol.io import BodyReader
from pipecore_thrift_sink.protocol.tablet import read_tablet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pipe(node: Node, port: int, name: str = "ws") -> None:
    node.execute(
        f"CREATE PIPE {name} WITH SOURCE ('source'='iotdb-source', 'source.path'='root.ws.**') "
        f"WITH SINK ('sink'='websocket-sink', 'sink.websocket.port'='{port}')"
    )


def _decode(message: bytes):
    (event_id,) = struct.unpack(">q", message[:8])
    return event_id, read_tablet(BodyReader(message[8:]))


async def _receive(port: int, pipe: str, want_points: int, reject_first: bool = False):
    """Bind, read tablets until `want_points` arrived, acknowledging each (the first one is
    answered ERROR once when `reject_first`)."""
    got, ids, rejected = [], [], False
    async with connect(f"ws://127.0.0.1:{port}", max_size=None) as ws:
        await ws.send(f"BIND:{pipe}")
        assert await asyncio.wait_for(ws.recv(), 10) == "READY"
        while sum(t.point_count() for t in got) < want_points:
            event_id, tablet = _decode(await asyncio.wait_for(ws.recv(), 20))
            if reject_first and not rejected:
                rejected = True
                await ws.send(f"ERROR:{event_id}")
                continue
            got.append(tablet)
            ids.append(event_id)
            await ws.send(f"ACK:{event_id}")
    return got, ids


def test_a_client_receives_every_tablet_and_acknowledges_it(node: Node) -> None:
    port = _free_port()
    _pipe(node, port)
    for chunk in range(5):
        rows = ", ".join(f"({chunk * 100 + i}, {i}, {i * 0.5})" for i in range(100))
        node.execute(f"insert into root.ws.d1(time, a, b) values {rows}")
    got, ids = asyncio.run(_receive(port, "ws", 1000, reject_first=True))
    times = np.concatenate([t.timestamps for t in got])
    assert sorted(times.tolist()) == list(range(500))
    assert {t.device for t in got} == {"root.ws.d1"}
    assert 1 in ids  # the first event, answered ERROR, came again
    assert len(set(ids)) == len(ids)
    # every acknowledged tablet is committed (SHOW PIPES' figures are a snapshot: read anew)
    wait_until(lambda: node.get_pipe("ws").facts.committed_commit_id >= 5, 30)


def test_a_second_client_for_the_same_pipe_is_refused(node: Node) -> None:
    port = _free_port()
    _pipe(node, port)

    async def two() -> tuple[str, int | None]:
        async with connect(f"ws://127.0.0.1:{port}") as first:
            await first.send("BIND:ws")
            assert await first.recv() == "READY"
            async with connect(f"ws://127.0.0.1:{port}") as second:
                await second.send("BIND:ws")
                answer = await second.recv()
                await second.wait_closed()
                return str(answer), second.close_code

    assert asyncio.run(two()) == ("ERROR", 4000)


def test_unacknowledged_tablets_go_to_the_next_client(node: Node) -> None:
    port = _free_port()
    _pipe(node, port)
    node.execute("insert into root.ws.d1(time, a) values (1, 1), (2, 2)")

    async def drop_then_take() -> list:
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send("BIND:ws")
            assert await ws.recv() == "READY"
            await asyncio.wait_for(ws.recv(), 10)  # received, never acknowledged
        got, _ = await _receive(port, "ws", 2)
        return got

    got = asyncio.run(drop_then_take())
    assert np.concatenate([t.timestamps for t in got]).tolist() == [1, 2]


def test_port_out_of_range_is_named(node: Node) -> None:
    with pytest.raises(StatementError) as caught:
        _pipe(node, 70000)
    assert caught.value.status_code == 1107
    assert "sink.websocket.port must be between 1 and 65535, but got 70000" in str(caught.value)
