"""The catalog on disk: atomic writes, corruption named, cluster id kept, one lock per dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipecore
from pipecore import CorruptFileError, PipeError, PipeParameters, PipeStatus
from pipecore.pipe_catalog import Catalog, PipeMeta, write_json_atomic


def _meta(name: str = "p") -> PipeMeta:
    return PipeMeta(
        name,
        1_700_000_000_000,
        PipeParameters({"source": "s"}),
        PipeParameters({}),
        PipeParameters({"sink": "k", "sink.password": "x"}),
    )


def test_pipe_meta_round_trips(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    meta = _meta("a/b c")  # any name: file names are encoded
    meta.status = PipeStatus.STOPPED
    meta.stopped_by_runtime_exception = True
    meta.record_exception("boom", at_ms=5)
    meta.progress, meta.commit_id = {"rows": 10}, 3
    catalog.save_pipe(meta)
    (loaded,) = Catalog(tmp_path).load_pipes()
    assert loaded == meta
    assert loaded.sink["sink.password"] == "x"  # stored as given; only display masks it


def test_a_write_replaces_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json_atomic(path, {"v": 1})
    write_json_atomic(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_crash_between_write_and_rename_keeps_the_old_version(tmp_path: Path) -> None:
    """A real process killed right before the rename: the old file survives, the temporary file
    is cleaned up when the catalog opens again."""
    catalog = Catalog(tmp_path)
    catalog.save_pipe(_meta())
    script = f"""
import os, sys
sys.path[:0] = {sys.path!r}
import pipecore.pipe_catalog as c
from pipecore.pipe_catalog import Catalog
def die(src, dst):
    os.kill(os.getpid(), 9)
os.replace = die
cat = Catalog({str(tmp_path)!r})
meta = cat.load_pipes()[0]
meta.commit_id = 99
cat.save_pipe(meta)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert list((tmp_path / "pipe" / "meta").glob(".*.tmp"))  # the half-done write is there
    (meta,) = Catalog(tmp_path).load_pipes()
    assert meta.commit_id == 0
    assert not list((tmp_path / "pipe" / "meta").glob(".*.tmp"))


def test_a_corrupt_meta_file_is_named(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    catalog.save_pipe(_meta())
    path = next((tmp_path / "pipe" / "meta").glob("*.json"))
    path.write_text('{"name": "p", ')
    with pytest.raises(CorruptFileError) as info:
        catalog.load_pipes()
    assert info.value.path == str(path)
    path.write_text('{"name": "p"}')
    with pytest.raises(CorruptFileError, match="not a pipe meta"):
        catalog.load_pipes()
    with pytest.raises(CorruptFileError):
        pipecore.Node.open(tmp_path, env={})


def test_the_cluster_id_is_generated_once(tmp_path: Path) -> None:
    with pipecore.Node.open(tmp_path, env={}) as node:
        first = node.cluster_id
    with pipecore.Node.open(tmp_path, env={}) as node:
        assert node.cluster_id == first
    assert len(first) == 36
    with pipecore.Node.open(tmp_path / "other", env={}) as other:
        assert other.cluster_id != first


def test_a_second_node_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with pipecore.Node.open(tmp_path, env={}):
        with pytest.raises(PipeError, match="in use by another pipecore node") as info:
            pipecore.Node.open(tmp_path, env={})
        assert f"pid {os.getpid()}" in str(info.value)
    pipecore.Node.open(tmp_path, env={}).close()
