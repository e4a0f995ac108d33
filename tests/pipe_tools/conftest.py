"""Fixtures of the "beyond IoTDB" statements' tests (VERIFY / RESYNC / EXPLAIN PIPE, progress,
quarantine, backlog, EXPORT / IMPORT): real `pipecore serve` processes from tests/thrift."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_THRIFT = Path(__file__).resolve().parent.parent / "thrift"
if str(_THRIFT) not in sys.path:
    sys.path.insert(0, str(_THRIFT))

from thrift_processes import Serve, start_all  # noqa: E402


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory):
    """A sender and a receiver process shared by a module's tests."""
    tmp = tmp_path_factory.mktemp("nodes")
    made = start_all(Serve(tmp, "sender"), Serve(tmp, "receiver"))
    yield made
    for node in made:
        node.stop()
