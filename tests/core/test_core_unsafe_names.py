"""Names typed by users (plugins, pipes) never become paths outside the node's folders.

A plugin named ``/`` once made ``lib_dir / name`` the file-system root, and replacing an
"existing plugin folder" deleted it. These tests put a sentinel folder where such a name
would point and check it survives, whatever the name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipecore import Node
from pipecore.errors import PipecoreError
from pipecore_storage.fsutil import UnsafeNameError, child_path

UNSAFE = ["", ".", "..", "/", "a/b", "../x", "x\\y", "nul\x00byte"]


@pytest.mark.parametrize("name", UNSAFE)
def test_child_path_refuses_anything_but_one_plain_component(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeNameError, match="illegal"):
        child_path(tmp_path, name, "thing")


def test_child_path_refuses_absolute_names(tmp_path: Path) -> None:
    with pytest.raises(UnsafeNameError):
        child_path(tmp_path / "lib", str(tmp_path / "sentinel"))
    assert child_path(tmp_path, "ok-name.v1") == tmp_path / "ok-name.v1"


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "my_sink_mod.py"
    src.parent.mkdir()
    src.write_text(
        "from pipecore import Connector\n\nclass MySink(Connector):\n    pass\n", "utf-8"
    )
    return src


@pytest.mark.parametrize("how", ["relative", "dots", "nested"])
def test_create_pipeplugin_with_a_path_name_touches_nothing_outside(
    tmp_path: Path, plugin_file: Path, how: str
) -> None:
    # Every name below resolves to the sentinel (or the node's own folders), never to "/",
    # also after the upper-casing plugin names get: should the guard regress, the damage
    # stays inside tmp_path.
    sentinel = tmp_path / "SENTINEL"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("keep")
    with Node.open(tmp_path / "node") as node:
        relative = os.path.relpath(sentinel, node.lib_dir)
        name = {"relative": relative, "dots": "..", "nested": f"X/../{relative}"}[how]
        with pytest.raises(PipecoreError, match="illegal PipePlugin name"):
            node.create_plugin(name, "my_sink_mod:MySink", str(plugin_file))
        with pytest.raises(PipecoreError):
            node.execute(
                f"CREATE PIPEPLUGIN `{name}` AS 'my_sink_mod:MySink' USING URI '{plugin_file}'"
            )
        assert node.lib_dir.is_dir()
    assert (sentinel / "keep.txt").read_text() == "keep"
    assert plugin_file.exists()


def test_a_directory_uri_must_look_like_a_plugin(tmp_path: Path) -> None:
    big = tmp_path / "not_a_plugin"
    big.mkdir()
    (big / "data.bin").write_bytes(b"x")
    with Node.open(tmp_path / "node") as node, pytest.raises(PipecoreError, match="Python package"):
        node.create_plugin("thing", "m:C", str(big))
    assert (big / "data.bin").exists()


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_pipe_names_never_reach_the_parent_folder(tmp_path: Path, name: str) -> None:
    with Node.open(tmp_path / "node") as node:
        marker = node.data_dir / "marker.txt"
        marker.write_text("keep")
        with pytest.raises(PipecoreError):
            node.execute(
                f"CREATE PIPE `{name}` WITH SOURCE ('source'='do-nothing-source') "
                "WITH SINK ('sink'='do-nothing-sink')"
            )
        node.execute(f"DROP PIPE IF EXISTS `{name}`")
        assert marker.read_text() == "keep"
