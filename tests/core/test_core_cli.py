"""The `pipecore` command: `demo` moves points through an in-process pipe and says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipecore.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _pipecore(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("pipecore")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipecore.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_demo_moves_every_point(tmp_path: Path) -> None:
    proc = _pipecore("demo", "--points", "200000", "--data-dir", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    assert "moved 200,000 points" in proc.stdout
    assert "sent 200,000, received 200,000: every point accounted for" in proc.stdout
    assert "{sink=counting-sink, sink.counter=demo}" in proc.stdout


def test_demo_refuses_inconsistent_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--points", "11", "--measurements", "2"]) == 2
    assert "multiple of --measurements" in capsys.readouterr().err


def test_a_bad_config_is_reported_with_its_key(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.toml"
    config.write_text("dn_rpc_prot = 1\n")
    assert (
        main(["demo", "--points", "10", "--data-dir", str(tmp_path / "d"), "--config", str(config)])
        == 1
    )
    assert "unknown configuration key 'dn_rpc_prot'" in capsys.readouterr().err


def test_subcommands_share_the_common_options() -> None:
    parser = build_parser()
    for command in COMMANDS:
        args = parser.parse_args([command.name, "--data-dir", "x", "--config", "c.toml", "-v"])
        assert (args.data_dir, args.config, args.verbose) == ("x", "c.toml", 1)
    with pytest.raises(SystemExit):
        parser.parse_args([])


def test_the_readme_keeps_its_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    for marker in ("main-command", "test-command"):
        block = text.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
        lines = [ln for ln in block.strip().splitlines() if not ln.startswith("```")]
        assert len(lines) == 1, marker
    assert "pipecore demo" in text.split("<!-- /main-command -->")[0]
