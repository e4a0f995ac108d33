"""Fixtures of the node tests: nodes in temporary directories, with the testing plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecore import Node
from pipecore.testing import inprocess
from pipecore.testing import plugins as testing_plugins

# Fast timings: progress saved every 20 ms, no automatic restarts.
FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with Node.open(tmp_path / "node", FAST, plugins=[testing_plugins, inprocess]) as n:
        yield n
