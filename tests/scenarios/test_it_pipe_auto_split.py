"""IoTDB's IoTDBPipeAutoSplitIT (pipe/it/dual/treemodel/auto/basic): with
`pipe_auto_split_full_enabled` a CREATE PIPE taking inserted data both historical and realtime
makes `<name>_history` and `<name>_realtime`; others are made as given. Its own pair of nodes
(the setting is IoTDB master's, on by default there; pipecore keeps IoTDB 2.0.1's no-split
default, so the session pairs run without it); schema auto-creation on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from iotdb_it import ItNode, assert_data_eventually
from it_pipe_admin import show_pipes

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def split_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ItNode, ItNode]]:
    tmp = tmp_path_factory.mktemp("it-split")
    config = {"enable_auto_create_schema": True, "pipe_auto_split_full_enabled": True}
    nodes = (ItNode(tmp, "sender", config), ItNode(tmp, "receiver", config))
    for node in nodes:
        node.launch()
    try:
        for node in nodes:
            node.ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def _ids(node: ItNode) -> list[str]:
    return sorted(row["ID"] for row in show_pipes(node) if not row["ID"].startswith("__consensus"))


def test_single_env(split_env) -> None:
    """testSingleEnv."""
    sender, receiver = split_env
    urls = f"'node-urls'='{receiver.url}'"
    sender.execute(f"create pipe a2b with sink ({urls})")
    assert _ids(sender) == ["a2b_history", "a2b_realtime"]

    # no split for pipes without insertion, or not full
    sender.execute(
        "drop pipe a2b_history",
        "drop pipe a2b_realtime",
        f"create pipe a2b1 with source ('inclusion'='schema') with sink ({urls})",
        f"create pipe a2b2 with source ('realtime.enable'='false') with sink ({urls})",
        f"create pipe a2b3 with source ('history.enable'='false') with sink ({urls})",
    )
    assert _ids(sender) == ["a2b1", "a2b2", "a2b3"]

    sender.execute(
        "drop pipe a2b1",
        "drop pipe a2b2",
        "drop pipe a2b3",
        "insert into root.test.device(time, field) values(0,1),(1,2)",
        "delete from root.test.device.* where time == 0",
        f"create pipe a2b with source ('inclusion'='all') with sink ({urls})",
    )
    assert_data_eventually(
        receiver, "select * from root.test.device", "Time,root.test.device.field,", ["1,2.0,"]
    )
