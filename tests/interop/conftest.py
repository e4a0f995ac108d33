"""Fixtures of the interop tests: a real IoTDB per version (started once per test session and
shared by every test that asks for it), the Java tool chain, and a unique database per test.

Java, Maven and the IoTDB jars missing → the test is skipped with the reason, or fails when
PIPECORE_REQUIRE_JAVA=1 (CI).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterator

import pytest
from iotdb_server import IoTDBServer, IoTDBStartError
from java_env import iotdb_lib, iotdb_versions, unavailable

_failed: dict[str, str] = {}
_counter = itertools.count()


@pytest.fixture(scope="session", params=iotdb_versions())
def iotdb(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IoTDBServer]:
    """A running single-node IoTDB of each version in tools/java/versions.env."""
    version: str = request.param
    if version in _failed:
        pytest.fail(_failed[version], pytrace=False)
    lib = iotdb_lib(version)
    server = IoTDBServer(version, lib, tmp_path_factory.mktemp(f"iotdb-{version}"))
    try:
        server.start()
    except IoTDBStartError as exc:
        server.stop()
        _failed[version] = f"IoTDB {version} did not start: {exc}"
        pytest.fail(_failed[version], pytrace=False)
    print(
        f"\nIoTDB {version} up in {server.startup_seconds['total']:.1f}s "
        f"(ConfigNode {server.startup_seconds['confignode']:.1f}s, "
        f"DataNode {server.startup_seconds['datanode']:.1f}s), RSS MiB {server.rss_mb()}",
        file=sys.stderr,
    )
    yield server
    server.stop()


@pytest.fixture
def database(iotdb: IoTDBServer) -> Iterator[str]:
    """A fresh database on the shared IoTDB (dropped afterwards, with the test's pipes)."""
    name = f"root.it{next(_counter)}"
    yield name
    _, pipes = iotdb.query("show pipes")
    for row in pipes:
        pipe_id = row[0]
        if not str(pipe_id).startswith("__"):
            with contextlib.suppress(Exception):  # a pipe that is already gone
                iotdb.execute(f"drop pipe {pipe_id}")
    with contextlib.suppress(Exception):  # nothing was written
        iotdb.execute(f"delete database {name}")


__all__ = ["unavailable"]
