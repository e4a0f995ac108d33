"""The distribution: one wheel whose top-level names are all pipecore's own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    (found,) = out.glob("pipecore-*.whl")
    return found


def test_wheel_top_level_names_are_not_generic(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        tops = {
            n.split("/", 1)[0]
            for n in zf.namelist()
            if not n.split("/", 1)[0].endswith((".dist-info", ".data"))
        }
    assert tops == {
        "pipecore",
        "pipecore_storage",
        "pipecore_iotdb_source",
        "pipecore_thrift_sink",
        "pipecore_air_gap_sink",
        "pipecore_ssl_sink",
        "pipecore_processors",
        "pipecore_edge_sinks",
    }
    assert "storage" not in tops and "plugins" not in tops


def test_wheel_declares_builtin_plugins_as_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (ep_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = zf.read(ep_name).decode()
    section = text.split("[pipecore]", 1)[1].split("\n[", 1)[0]
    targets = {line.split("=", 1)[1].strip() for line in section.splitlines() if "=" in line}
    assert {
        "pipecore.builtin",
        "pipecore_iotdb_source",
        "pipecore_thrift_sink",
        "pipecore_air_gap_sink",
        "pipecore_ssl_sink",
        "pipecore_processors",
        "pipecore_edge_sinks",
    } <= targets


def test_installed_distribution_entry_points_import() -> None:
    eps = metadata.entry_points(group="pipecore")
    ours = [ep for ep in eps if ep.dist is not None and ep.dist.name == "pipecore"]
    assert ours, "pipecore is not installed (pip install -e .)"
    for ep in ours:
        assert ep.load() is not None
