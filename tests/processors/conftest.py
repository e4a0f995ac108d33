"""Fixtures of the processor tests: a node with the testing plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecore import Node
from pipecore.testing import plugins as testing_plugins

FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
    "pipe_subtask_executor_cron_heartbeat_event_interval_seconds": 0.1,
}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with Node.open(tmp_path / "node", FAST, plugins=[testing_plugins]) as n:
        yield n
