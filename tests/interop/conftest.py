"""Fixtures of the interop tests: a real IoTDB per version (started once per test session and
shared by every test that asks for it), a second one with TLS on its RPC port for the tests
that need it (`iotdb_tls`), the Java tool chain, and a unique database per test.

Java, Maven and the IoTDB jars missing → the test is skipped with the reason, or fails when
PIPECORE_REQUIRE_JAVA=1 (CI).
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotdb_server import IoTDBServer, IoTDBStartError, ThriftTls
from java_env import iotdb_lib, iotdb_versions, unavailable
from pipecore_node import PipecoreNode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssl"))
from ssl_helpers import KEY_PWD, Pki

_failed: dict[str, str] = {}
_counter = itertools.count()


def _started(version: str, home: Path, tls: ThriftTls | None = None) -> IoTDBServer:
    """An IoTDB of `version` started under `home` (a version that failed once fails fast)."""
    key = f"{version}{' (TLS)' if tls else ''}"
    if key in _failed:
        pytest.fail(_failed[key], pytrace=False)
    lib = iotdb_lib(version)
    server = IoTDBServer(version, lib, home, tls=tls)
    try:
        server.start()
    except IoTDBStartError as exc:
        server.stop()
        _failed[key] = f"IoTDB {key} did not start: {exc}"
        pytest.fail(_failed[key], pytrace=False)
    print(
        f"\nIoTDB {key} up in {server.startup_seconds['total']:.1f}s "
        f"(ConfigNode {server.startup_seconds['confignode']:.1f}s, "
        f"DataNode {server.startup_seconds['datanode']:.1f}s), RSS MiB {server.rss_mb()}",
        file=sys.stderr,
    )
    return server


@pytest.fixture(scope="session", params=iotdb_versions())
def iotdb(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IoTDBServer]:
    """A running single-node IoTDB of each version in tools/java/versions.env."""
    version: str = request.param
    server = _started(version, tmp_path_factory.mktemp(f"iotdb-{version}"))
    yield server
    server.stop()


@pytest.fixture(scope="module", params=iotdb_versions())
def iotdb_tls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[IoTDBServer, Pki]]:
    """A second IoTDB whose client RPC port (and so its pipe receiver) takes TLS only
    (`enable_thrift_ssl`, a JKS key store made by keytool from the test PKI's server
    certificate), and that PKI. Module-scoped: started by the first test that asks for it and
    stopped when its module is done, so it does not hold ~500 MiB through the other tests."""
    version: str = request.param
    if shutil.which("keytool") is None:
        unavailable("keytool is not installed (the TLS IoTDB needs a JKS key store)")
    home = tmp_path_factory.mktemp(f"iotdb-tls-{version}")
    pki = Pki(home / "pki")
    jks = home / "server-keystore.jks"
    subprocess.run(
        ["keytool", "-importkeystore", "-noprompt",
         "-srckeystore", str(pki.key_p12()), "-srcstoretype", "PKCS12", "-srcstorepass", KEY_PWD,
         "-destkeystore", str(jks), "-deststoretype", "JKS", "-deststorepass", KEY_PWD],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    server = _started(version, home / "iotdb", ThriftTls(jks, KEY_PWD, pki.ca_pem))
    yield server, pki
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


@pytest.fixture
def pipecore(tmp_path: Path) -> Iterator[PipecoreNode]:
    """A `pipecore serve` of the test's own (stopped afterwards)."""
    node = PipecoreNode(tmp_path, "pipecore").start()
    yield node
    node.stop()
