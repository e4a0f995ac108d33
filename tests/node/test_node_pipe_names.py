"""A pipe name that cannot be a folder name is refused at CREATE; a DROP that fails keeps the
pipe (before, ``a/b`` was created, never started, and its failed DROP removed it from the
catalog but not from the node)."""

from __future__ import annotations

import pytest

from pipecore.errors import PipeError
from pipecore.sql import SqlError

BAD = ["a/b", "../../x", "a\\b", "..", ".", "tab\there", "nul\x00"]


@pytest.mark.parametrize("name", BAD)
def test_unsafe_pipe_names_are_refused_at_create(node, name):
    with pytest.raises(PipeError, match="the pipe name must not"):
        node.pipes.create(name, sink={"sink": "do-nothing-sink"}, start=False)
    assert name not in [p.name for p in node.pipes.list()]
    assert not list((node.catalog.meta_dir).glob("*.json"))


def test_sql_create_pipe_with_a_slash_is_refused(node):
    with pytest.raises(SqlError, match="the pipe name must not") as info:
        node.execute("CREATE PIPE `a/b` WITH SINK ('sink'='do-nothing-sink')")
    assert info.value.status_code == 1107
    assert not node.execute("SHOW PIPES").rows


def test_a_failed_drop_keeps_the_pipe(node, monkeypatch):
    node.pipes.create("keep", sink={"sink": "do-nothing-sink"}, start=False)

    def fail(name):
        raise OSError("simulated: the pin folder cannot be removed")

    monkeypatch.setattr(node.store, "unpin_all", fail)
    with pytest.raises(OSError):
        node.pipes.drop("keep")
    assert [p.name for p in node.pipes.list()] == ["keep"]
    assert (node.catalog.meta_dir / "keep.json").exists()
