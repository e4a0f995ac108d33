"""``pipecore pipes --watch`` and the LOAD progress bar of ``pipecore sql``, as real processes
under a pseudo-terminal."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from cli_helpers import Server, pipecore_command, run_pipecore
from test_cli_sql import Terminal

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileWriter

SUCCESS = "Msg: The statement is executed successfully."


def _metrics_url(server: Server) -> str:
    assert server.proc.stdout is not None
    line = server.proc.stdout.readline()
    found = re.search(r"pipecore metrics on (http://\S+)/metrics", line)
    assert found, line
    return found.group(1)


def test_pipes_watch_refreshes_a_table_in_place(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('metric_reporter_list = "PROMETHEUS"\nmetric_prometheus_reporter_port = 0\n')
    server = Server(tmp_path / "node", "--config", str(config))
    try:
        url = _metrics_url(server)
        created = server.sql(
            "CREATE PIPE watched WITH SOURCE ('source'='iotdb-source') "
            "WITH SINK ('sink'='do-nothing-sink');"
            "INSERT INTO root.w.d(time, s0, s1) VALUES (1, 1, 2), (2, 3, 4), (3, 5, 6)"
        )
        assert created.returncode == 0, created.stderr
        env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "40"}
        args = ["pipes", "--url", url, "--watch", "--interval", "0.3", "--count", "4"]
        term = Terminal([*pipecore_command(), *args], env)
        try:
            term.expect(r"Pipe .*State .*Points/s")
            term.expect(r"watched .*RUNNING")
            raw_seen = term.expect(r"at \d\d:\d\d:\d\d")  # a refresh
            assert raw_seen
            term.expect(r"watched .*RUNNING .*\b6\b")  # the six points transferred
            assert term.close() == 0
        finally:
            term.kill()
        once = run_pipecore("pipes", "--url", url)
        assert once.returncode == 0, once.stderr
        assert "watched" in once.stdout and "RUNNING" in once.stdout
    finally:
        server.stop()
    missing = run_pipecore("pipes", "--url", "http://127.0.0.1:9/")
    assert missing.returncode == 1 and "metric_reporter_list" in missing.stderr


def _tsfiles(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        times = np.arange(i * 100, i * 100 + 100, dtype=np.int64)
        tablet = Tablet(f"root.ld.d{i}", [MeasurementSchema("s0", "DOUBLE")], times, [times * 1.5])
        with TsFileWriter(folder / f"{i}.tsfile") as writer:
            writer.register_timeseries(tablet.device, tablet.schemas[0])
            writer.write_tablet(tablet)


def test_load_of_a_directory_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    _tsfiles(folder, 3)
    data = str(tmp_path / "node")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    statement = f"LOAD '{folder}'; SELECT count(s0) FROM root.ld.**"
    term = Terminal([*pipecore_command(), "sql", "--data-dir", data, "-e", statement], env)
    try:
        term.expect(r"LOAD \d/3 files")
        term.expect(re.escape(SUCCESS))
        term.expect(r"count\(root\.ld\.d2\.s0\)")
        assert term.close() == 0
    finally:
        term.kill()
    # not a terminal: no bar, the same result
    again = run_pipecore("sql", "--data-dir", data, "-e", "SELECT count(s0) FROM root.ld.**")
    assert again.returncode == 0 and "100" in again.stdout
    _tsfiles(tmp_path / "more", 2)
    piped = run_pipecore("sql", "--data-dir", data, "-e", f"LOAD '{tmp_path / 'more'}'")
    assert piped.returncode == 0 and SUCCESS in piped.stdout
    assert "files" not in piped.stderr
