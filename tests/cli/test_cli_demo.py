"""``pipecore demo``, the README's first command, as a real process."""

from __future__ import annotations

import re

import pytest
from cli_helpers import run_pipecore

pytestmark = pytest.mark.subprocess


def test_demo_shows_the_same_rows_on_both_nodes(tmp_path) -> None:
    done = run_pipecore("demo", "--data-dir", str(tmp_path / "demo"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    sender, receiver = (int(p) for p in re.findall(r"node\s+on 127\.0\.0\.1:(\d+)", out)[::-1])
    assert sender != receiver
    assert "sender> CREATE PIPE demo WITH SOURCE" in out
    assert "sender> insert into root.vehicle.d1(timestamp,s3) values(now(),false);" in out
    rows = [line for line in out.splitlines() if re.match(r"\|\d{4}-", line)]
    assert len(rows) == 6
    for line in rows:  # sender's row, then the receiver's, side by side
        left, right = re.split(r"\|\s{2,}\|", line)
        assert left + "|" == "|" + right
    values = [[c.strip() for c in r.split("|")[2:6]] for r in rows]
    assert values == [  # s0, s1, s3, s2: IoTDB 2.0.1's order of select ** (docs/sql-reference.md)
        ["10", "null", "null", "null"],
        ["12", "12", "null", "null"],
        ["null", "14", "null", "null"],
        ["null", "null", "null", "16.0"],
        ["null", "null", "true", "18.0"],
        ["null", "null", "false", "null"],
    ]
    assert "identical: 6 rows on both sides" in out
    # the demo's nodes never run with IoTDB's default root/root, and the password is not shown
    assert "'sink.password'='******'" in out
    assert "default password" not in done.stderr
    assert (tmp_path / "demo" / "sender" / "store").is_dir()
    assert (tmp_path / "demo" / "receiver" / "store").is_dir()
