"""Fixtures of the edge-sink tests: a node in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecore import Node

FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with Node.open(tmp_path / "node", FAST) as n:
        yield n
