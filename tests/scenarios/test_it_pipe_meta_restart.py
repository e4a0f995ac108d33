"""IoTDB's IoTDBPipeMetaRestartIT (pipe/it/dual/treemodel/manual): a schema / config pipe
created and started before both nodes restart (`TestUtils.restartCluster`: a real stop and
start of each `pipecore serve`) resumes after; schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import ItNode, assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SOURCE = {
    "extractor.inclusion": "all",
    "extractor.inclusion.exclusion": "",
    "extractor.forwarding-pipe-requests": "false",
}
SINK = {
    "connector.exception.conflict.resolve-strategy": "retry",
    "connector.exception.conflict.retry-max-time-seconds": "-1",
}


def _restart(*nodes: ItNode) -> None:
    """TestUtils.restartCluster of the sender, then of the receiver."""
    for node in nodes:
        node.stop()
        node.start()


def test_auto_restart_schema_task(manual_env) -> None:
    """testAutoRestartSchemaTask: 10 series before the restart, 10 after; all 20 arrive."""
    sender, receiver = manual_env
    create_pipe(sender, "testPipe", source=SOURCE, sink=thrift_sink(receiver, SINK))
    for i in range(10):
        sender.execute(
            f"create timeseries root.ln.wf01.GPS.status{i} with datatype=BOOLEAN,encoding=PLAIN"
        )
    _restart(sender, receiver)
    for i in range(10, 20):
        sender.execute(
            f"create timeseries root.ln.wf01.GPS.status{i} with datatype=BOOLEAN,encoding=PLAIN"
        )
    assert_data_eventually(receiver, "count timeseries root.ln.**", "count(timeseries),", ["20,"])


def test_auto_restart_config_task(manual_env) -> None:
    """testAutoRestartConfigTask: 10 databases before the restart, 10 after; all 20 arrive."""
    sender, receiver = manual_env
    create_pipe(sender, "testPipe", source=SOURCE, sink=thrift_sink(receiver, SINK))
    for i in range(10):
        sender.execute(f"create database root.ln{i}")
    _restart(sender, receiver)
    for i in range(10, 20):
        sender.execute(f"create database root.ln{i}")
    assert_data_eventually(receiver, "count databases root.ln*", "count,", ["20,"])
