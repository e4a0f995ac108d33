"""IoTDB's IoTDBPipeConditionalOperationsIT (pipe/it/dual/treemodel/auto/enhanced): CREATE
PIPE IF NOT EXISTS keeps the first pipe as it is, DROP PIPE IF EXISTS is quiet on a missing
pipe, ALTER PIPE IF EXISTS likewise. The IT reads the config node's showPipe (TShowPipeInfo);
SHOW PIPES gives the same fields: ID, CreationTime, State, PipeSource, PipeProcessor,
PipeSink."""

from __future__ import annotations

import pytest
from iotdb_it import ItNode

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _pipes(node: ItNode) -> list[dict[str, str]]:
    data = node.client().execute_query_statement("show pipes")
    try:
        names = list(data.get_column_names())
        rows = []
        while data.has_next():
            fields = data.next().get_fields()
            rows.append(
                {
                    n: (None if f is None else f.get_string_value())
                    for n, f in zip(names, fields, strict=True)
                }
            )
        return [r for r in rows if not r["ID"].startswith("__consensus")]
    finally:
        data.close_operation_handle()


def test_basic_create_pipe_if_not_exists(auto_env) -> None:
    """testBasicCreatePipeIfNotExists."""
    sender, receiver = auto_env
    sender.execute(
        "create pipe If Not Exists a2b with source ('source'='iotdb-source', "
        "'source.pattern'='root.test1', 'source.realtime.mode'='stream') with processor "
        f"('processor'='do-nothing-processor') with sink ('node-urls'='{receiver.url}')"
    )

    def check(pipes: list[dict[str, str]]) -> None:
        assert len(pipes) == 1
        pipe = pipes[0]
        assert pipe["State"] == "RUNNING"
        assert "source=iotdb-source" in pipe["PipeSource"]
        assert "source.pattern=root.test1" in pipe["PipeSource"]
        assert "source.realtime.mode=stream" in pipe["PipeSource"]
        assert "processor=do-nothing-processor" in pipe["PipeProcessor"]
        assert f"node-urls={receiver.url}" in pipe["PipeSink"]

    first = _pipes(sender)
    check(first)
    sender.execute(
        "create pipe If Not Exists a2b with source ('source'='iotdb-source', "
        f"'source.path'='root.test2.**') with sink ('node-urls'='{receiver.url}')"
    )
    again = _pipes(sender)
    check(again)
    assert "source.path=root.test2.**" not in again[0]["PipeSource"]
    assert again[0]["CreationTime"] == first[0]["CreationTime"]


def test_basic_drop_pipe_if_exists(auto_env) -> None:
    """testBasicDropPipeIfExists."""
    sender, receiver = auto_env
    sender.execute(
        "create pipe If Not Exists a2b with source ('source'='iotdb-source', "
        "'source.path'='root.test1.**') with processor ('processor'='do-nothing-processor') "
        f"with sink ('node-urls'='{receiver.url}')"
    )
    sender.execute("Drop pipe If Exists a2b")
    assert _pipes(sender) == []
    sender.execute("Drop pipe If Exists a2b")


def test_basic_alter_pipe_if_exists(auto_env) -> None:
    """testBasicAlterPipeIfExists (in the IT without @Test, so IoTDB never runs it): ALTER of
    a missing pipe is quiet; replacing the source and processor with empty ones drops their
    attributes."""
    sender, receiver = auto_env
    sender.execute(f"Alter pipe If Exists a2b replace sink ('node-urls'='{receiver.url}')")
    assert _pipes(sender) == []
    sender.execute(
        "create pipe If Not Exists a2b with source ('source'='iotdb-source', "
        "'source.pattern'='root.test1', 'source.realtime.mode'='stream') with processor "
        f"('processor'='do-nothing-processor') with sink ('node-urls'='{receiver.url}')"
    )
    sender.execute(
        "Alter pipe If Exists a2b replace source () replace processor () replace sink "
        f"('node-urls'='{receiver.url}')"
    )
    pipes = _pipes(sender)
    assert len(pipes) == 1
    pipe = pipes[0]
    assert pipe["State"] == "RUNNING"
    assert "source=iotdb-source" not in pipe["PipeSource"]
    assert "source.pattern=root.test1" not in pipe["PipeSource"]
    assert "source.realtime.mode=stream" not in pipe["PipeSource"]
    assert "processor=do-nothing-processor" not in pipe["PipeProcessor"]
    assert f"node-urls={receiver.url}" in pipe["PipeSink"]
