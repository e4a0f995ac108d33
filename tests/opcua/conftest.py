"""The OPC UA sink is a separate distribution (connectors/opcua): it is pip-installed into the
running environment, as a user installs a third-party plugin, when it is not there yet (or when
the installed copy differs from the folder's source)."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecore import Node

CONNECTOR = Path(__file__).resolve().parents[2] / "connectors" / "opcua"
FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
}


def _installed_is_current() -> bool:
    try:
        dist = importlib.metadata.distribution("pipecore-opcua")
    except importlib.metadata.PackageNotFoundError:
        return False
    for source in (CONNECTOR / "pipecore_opcua").glob("*.py"):
        installed = Path(str(dist.locate_file(f"pipecore_opcua/{source.name}")))
        if not installed.is_file() or installed.read_bytes() != source.read_bytes():
            return False
    return True


@pytest.fixture(scope="session", autouse=True)
def opcua_installed() -> None:
    """`pip install connectors/opcua` (its dependencies, pipecore and asyncua, are already
    here: the first is this checkout, the second comes with pipecore's test extra)."""
    if not _installed_is_current():
        try:
            importlib.metadata.distribution("pipecore-opcua")
            # a stale copy (the folder changed since): replace it, and only it
            again = ["--force-reinstall", "--no-deps"]
        except importlib.metadata.PackageNotFoundError:
            again = []
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-input",
                "--quiet",
                "--disable-pip-version-check",
                *again,
                str(CONNECTOR),
            ],
            check=True,
            timeout=600,
        )
        importlib.invalidate_caches()
        assert _installed_is_current()
    dist = importlib.metadata.distribution("pipecore-opcua")
    assert [(e.group, e.value) for e in dist.entry_points] == [("pipecore", "pipecore_opcua")]
    assert {r.split(">")[0].split(";")[0].strip() for r in dist.requires or []} == {
        "pipecore",
        "asyncua",
    }


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with Node.open(tmp_path / "node", FAST) as n:
        yield n
