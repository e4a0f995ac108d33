"""A real third-party sink: docs/examples/jsonl_sink is pip-installed, passes its own
conformance tests, and carries a million points by name through a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pipecore
from pipecore.testing import plugins

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "jsonl_sink"
MILLION = 1_000_000


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory):
    """`pip install` the example into a directory of its own (a site directory)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-input",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        timeout=600,
    )
    assert (target / "pipecore_jsonl_sink").is_dir()
    assert list(target.glob("pipecore_jsonl_sink-0.1.0.dist-info/entry_points.txt"))
    yield target
    for name in [m for m in sys.modules if m.startswith("pipecore_jsonl_sink")]:
        del sys.modules[name]


@pytest.mark.subprocess
def test_the_installed_sink_passes_its_own_conformance_tests(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), *sys.path[1:]])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 passed" in proc.stdout


def test_a_million_points_through_the_installed_sink(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait
) -> None:
    monkeypatch.syspath_prepend(str(installed))
    out = tmp_path / "out.jsonl"
    config = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.05}
    with pipecore.Node.open(tmp_path / "node", config, plugins=[plugins]) as node:
        entry = node.registry.get("JSONL-CONNECTOR")  # found by name through its entry point
        assert (entry.name, entry.origin, entry.plugin_jar) == (
            "JSONL-SINK",
            "installed",
            "pipecore-jsonl-sink==0.1.0",
        )
        node.create_pipe(
            "to-file",
            {
                "source": "generated-source",
                "source.points": str(MILLION),
                "source.devices": "4",
                "source.measurements": "2",
                "source.rows-per-tablet": "5000",
            },
            {"processor": "do-nothing-processor"},
            {"sink": "jsonl-sink", "sink.path": str(out)},
        )
        wait(lambda: (f := node.get_pipe("to-file").facts) and f.committed_commit_id == 100, 120)
        assert node.get_pipe("to-file").state == "RUNNING"
    from pipecore_jsonl_sink import read_jsonl

    tablets = list(read_jsonl(out))
    assert sum(t.point_count() for t in tablets) == MILLION
    for device in (f"root.generated.d{d}" for d in range(4)):
        parts = [t for t in tablets if t.device == device]
        times = np.concatenate([t.timestamps for t in parts])
        assert np.array_equal(times, np.arange(MILLION // 2 // 4)), device  # in order, once each
        for j in range(2):
            values = np.concatenate([t.columns[j] for t in parts])
            assert np.array_equal(values, times * (j + 1.0))
