"""`pipecore serve` on a full disk: SIGTERM stops it cleanly (exit 0, no traceback) and every
acknowledged row is back after the restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Server
from small_disk import fill, mounted_tmpfs


@pytest.fixture
def disk(tmp_path: Path):
    with mounted_tmpfs(tmp_path / "disk", "16m") as mnt:
        yield mnt


def test_sigterm_on_a_full_disk_exits_cleanly(disk):
    server = Server(disk / "node")
    try:
        r = server.sql("CREATE DATABASE root.f; INSERT INTO root.f.d(time, s) VALUES (1, 1)")
        assert r.returncode == 0, r.stderr
        fill(disk / "filler")
        rows = ", ".join(f"({t}, {t})" for t in range(2, 2000))
        r = server.sql(f"INSERT INTO root.f.d(time, s) VALUES {rows}")
        assert "No space left" in r.stdout + r.stderr
    except BaseException:
        server.kill()
        raise
    code, out, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err and "pipecore stopped" in out
    (disk / "filler").unlink()
    again = Server(disk / "node")
    try:
        r = again.sql("SELECT s FROM root.f.d")
        assert r.returncode == 0, r.stderr
        assert "|1.0" in r.stdout.replace(" ", "") and "|2.0" not in r.stdout.replace(" ", "")
    finally:
        again.stop()
