"""The README's examples work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text("utf-8"), re.S)


def test_quick_start_has_exactly_the_two_commands_ci_runs() -> None:
    text = README.read_text("utf-8")
    quick = text[text.index("## Quick start") : text.index("## Next steps")]
    commands = re.findall(r"```sh\n(.*?)```", quick, re.S)
    assert [c.strip() for c in commands] == [
        "python -m pip install -e . && pipecore demo",
        "python -m pip install -e '.[test]' && python -m pytest",
    ]
    ci = (README.parent / ".ci" / "run").read_text("utf-8")
    assert "test-command" in ci  # .ci/run reads the second one from the README


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_examples_run(tmp_path: Path, code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "root.vehicle.d0.s0" in done.stdout and "Total line number = 1" in done.stdout


@pytest.mark.parametrize("sql", _blocks("sql"))
def test_sql_examples_parse(sql: str) -> None:
    from pipecore.sql import parse_script

    assert parse_script(sql)
