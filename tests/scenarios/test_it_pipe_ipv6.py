"""IoTDB's IoTDBPipeIPv6IT (pipe/it/dual/treemodel/auto/basic): two nodes serving on the IPv6
loopback `::1`, the async and the sync thrift sink sending to `sink.node-urls`=`[::1]:port`.

Its own pair of nodes (the session pairs serve 127.0.0.1); skipped, with the error, where
`::1` cannot be bound (IoTDB's `IPv6TestUtils.assumeIPv6LoopbackAvailable`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotdb.Session import Session
from iotdb_it import ItNode, assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

IPV6_LOOPBACK = "::1"


class Ipv6Node(ItNode):
    def __init__(self, tmp: Path, name: str) -> None:
        super().__init__(tmp, name, {"enable_auto_create_schema": True})
        self.rpc_address = IPV6_LOOPBACK

    def client(self) -> Session:
        if self._client is None:
            self._client = Session(IPV6_LOOPBACK, self.port, "root", "root")
            self._client.open(False)
        return self._client

    def ip_and_port(self) -> str:
        """DataNodeWrapper.getIpAndPortString: `[::1]:port`."""
        return f"[{IPV6_LOOPBACK}]:{self.port}"


def _ipv6_loopback_error() -> str | None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind((IPV6_LOOPBACK, 0))
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture
def ipv6_env(tmp_path: Path) -> Iterator[tuple[Ipv6Node, Ipv6Node]]:
    error = _ipv6_loopback_error()
    if error is not None:
        pytest.skip(f"the IPv6 loopback ::1 cannot be bound here: {error}")
    nodes = (Ipv6Node(tmp_path, "v6-sender"), Ipv6Node(tmp_path, "v6-receiver"))
    for node in nodes:
        node.launch()
    try:
        for node in nodes:
            node.ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_sync_and_async_sinks_through_ipv6_loopback(ipv6_env) -> None:
    """testSyncAndAsyncSinksThroughIPv6Loopback."""
    sender, receiver = ipv6_env
    url = receiver.ip_and_port()
    assert url.startswith("[::1]:")
    for name, path, sink in (
        ("ipv6_async_pipe", "root.ipv6_async.**", "iotdb-thrift-async-connector"),
        ("ipv6_sync_pipe", "root.ipv6_sync.**", "iotdb-thrift-sync-connector"),
    ):
        create_pipe(
            sender,
            name,
            source={"source.path": path},
            sink={"sink": sink, "sink.batch.enable": "false", "sink.node-urls": url},
        )
    sender.execute(
        "insert into root.ipv6_async.d1(time, s1) values (1, 1)",
        "insert into root.ipv6_sync.d1(time, s1) values (1, 1)",
        "flush",
    )
    for kind in ("async", "sync"):
        assert_data_eventually(
            receiver,
            f"select count(s1) from root.ipv6_{kind}.d1",
            f"count(root.ipv6_{kind}.d1.s1),",
            ["1,"],
        )
    # the nodes serve IPv6 only: nothing answers on 127.0.0.1 at the receiver's port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", receiver.port), 2):
        pass
