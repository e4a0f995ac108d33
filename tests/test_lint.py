"""The README's test command also runs the linters (configured in pyproject.toml): ruff check on
the repository, ruff format on pipecore/, mypy on every package the wheel ships (the core, the
store and the built-in plugins)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.subprocess
def test_ruff_check_is_clean() -> None:
    proc = subprocess.run(
        [*_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.subprocess
def test_ruff_format_is_clean_on_pipecore() -> None:
    proc = subprocess.run(
        [*_tool("ruff"), "format", "--check", "pipecore"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_checks_every_shipped_package() -> None:
    """A package added to the wheel (a new plugin, say) is type-checked too, from its folder."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    mypy = project["tool"]["mypy"]
    assert sorted(mypy["packages"]) == sorted(Path(p).name for p in shipped)
    roots = {str(Path(p).parent) for p in shipped} - {"."}
    assert roots <= set(mypy.get("mypy_path", [])), "a package folder is missing from mypy_path"


@pytest.mark.subprocess
@pytest.mark.slow
def test_mypy_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
