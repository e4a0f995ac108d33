"""Scenarios of Apache IoTDB's own pipe integration tests (integration-test/src/test/java/org/
apache/iotdb/pipe/it/{autocreate,manual}), one module per IT class, run between two real
`pipecore serve` processes.

IoTDB's ITs start two fresh clusters per test; here two pairs of processes serve the whole
folder (IoTDB's AbstractPipeDualAutoIT pair with schema auto-creation on, and its
AbstractPipeDualManualIT pair with it off), emptied between scenarios, to keep the folder fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, _HERE.parent / "thrift"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from iotdb_it import ItNode  # noqa: E402
from thrift_processes import free_port  # noqa: E402


def _pair(
    tmp: Path, config: dict, receiver_config: dict | None = None
) -> Iterator[tuple[ItNode, ItNode]]:
    sender = ItNode(tmp, "sender", config)
    receiver = ItNode(tmp, "receiver", {**config, **(receiver_config or {})})
    for node in (sender, receiver):
        node.launch()
    try:
        for node in (sender, receiver):
            node.ready()
        yield sender, receiver
    finally:
        for node in (sender, receiver):
            node.stop()


@pytest.fixture(scope="session")
def _auto_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ItNode, ItNode]]:
    # the receiver also runs IoTDB's air-gap receiver (setPipeAirGapReceiverEnabled(true) of
    # the compression, custom-port and protocol ITs): `ItNode.air_gap_port`; the node's default
    # trusted_uri_pattern is IoTDB's (`file:.*`, which IoTDBPipeSyntaxIT reads back in a 701)
    config = {"enable_auto_create_schema": True}
    air_gap = {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": free_port()}
    yield from _pair(tmp_path_factory.mktemp("it-auto"), config, air_gap)


@pytest.fixture(scope="session")
def _manual_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ItNode, ItNode]]:
    yield from _pair(tmp_path_factory.mktemp("it-manual"), {"enable_auto_create_schema": False})


def _fresh(pair: tuple[ItNode, ItNode]) -> tuple[ItNode, ItNode]:
    for node in pair:
        node.drop_pipes()
    for node in pair:
        node.reset()
    return pair


@pytest.fixture
def auto_env(_auto_pair: tuple[ItNode, ItNode]) -> tuple[ItNode, ItNode]:
    """(senderEnv, receiverEnv) of IoTDB's MultiClusterIT2AutoCreateSchema ITs, emptied."""
    return _fresh(_auto_pair)


@pytest.fixture
def manual_env(_manual_pair: tuple[ItNode, ItNode]) -> tuple[ItNode, ItNode]:
    """(senderEnv, receiverEnv) of IoTDB's MultiClusterIT2ManualCreateSchema ITs, emptied."""
    return _fresh(_manual_pair)
