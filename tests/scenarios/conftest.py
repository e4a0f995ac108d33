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


def _pair(tmp: Path, config: dict) -> Iterator[tuple[ItNode, ItNode]]:
    sender, receiver = ItNode(tmp, "sender", config), ItNode(tmp, "receiver", config)
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
    # trusted_uri_pattern: IoTDB 2.0.1's default (its iotdb-system.properties), which
    # IoTDBPipeSyntaxIT.testPipePluginValidation reads back in its 701 message
    config = {"enable_auto_create_schema": True, "trusted_uri_pattern": "file:.*"}
    yield from _pair(tmp_path_factory.mktemp("it-auto"), config)


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
