"""A real node process is killed with SIGKILL mid-pipe, several times, while writes continue;
after every restart each recording sink holds exactly the store's points: every acknowledged
write is in the store, and none is missing at a sink (duplicates only where the sink's
overwrite makes them harmless)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("source_kill_child.py")
CYCLES = 3


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CHILD.parent), str(CHILD.parent.parent), env.get("PYTHONPATH", "")]
    )
    return env


def _write_then_kill(root: Path, run: int, rng: random.Random) -> None:
    errors = root / f"write-{run}.err"
    with (
        errors.open("wb") as err,
        subprocess.Popen(
            [sys.executable, str(CHILD), "write", str(root), str(run)],
            stdout=subprocess.PIPE,
            stderr=err,
            env=_env(),
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            assert line.strip() == "READY", line + errors.read_text()
            time.sleep(rng.uniform(0.4, 1.2))
            assert proc.poll() is None, errors.read_text()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def _verify(root: Path) -> dict:
    out = subprocess.run(
        [sys.executable, str(CHILD), "verify", str(root)],
        capture_output=True,
        env=_env(),
        timeout=90,
    )
    lines = [ln for ln in out.stdout.decode().splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr.decode()[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigkill_mid_pipe_loses_nothing(tmp_path):
    rng = random.Random(os.getpid())
    previous = 0
    for run in range(1, CYCLES + 1):
        _write_then_kill(tmp_path, run, rng)
        result = _verify(tmp_path)
        assert result["store"] > previous, result  # writes went on
        assert result["acked_missing_in_store"] == 0, result
        for pipe in ("p_hybrid", "p_stream", "p_batch"):
            assert result[pipe] == {"missing": 0, "extra": 0}, (run, pipe, result)
        previous = result["store"]
