"""``pipecore sql`` as a real process: ``-e``, ``-f``, standard input, and the interactive
prompt under a pseudo-terminal (history, multi-line statements, completion, exit codes)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import pipecore_command, run_pipecore

pytestmark = pytest.mark.subprocess

SUCCESS = "Msg: The statement is executed successfully."


def test_execute_prints_like_iotdb_and_stops_at_the_first_error(tmp_path: Path) -> None:
    data = str(tmp_path / "node")
    ok = run_pipecore(
        "sql", "--data-dir", data, "--zone", "+08:00", "-e",
        "create database root.sg; insert into root.sg.d(time, s) values (1000, 1.5); "
        "select s from root.sg.d",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[:2] == [SUCCESS, SUCCESS]
    assert lines[2] == lines[4] == lines[6] == "+-----------------------------+-----------+"
    assert lines[3] == "|                         Time|root.sg.d.s|"
    assert lines[5] == "|1970-01-01T08:00:01.000+08:00|        1.5|"
    assert lines[7] == "Total line number = 1" and re.fullmatch(r"It costs \d\.\d{3}s", lines[8])
    failed = run_pipecore(
        "sql", "--data-dir", data, "-e",
        "create database root.other; create database root.sg; create database root.never",
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [SUCCESS]
    assert failed.stderr.strip() == "Msg: 501: root.sg has already been created as database"
    listed = run_pipecore("sql", "--data-dir", data, "-e", "count databases")
    assert "|    2|" in listed.stdout  # root.never was not created


def test_a_syntax_error_runs_nothing(tmp_path: Path) -> None:
    data = str(tmp_path / "node")
    bad = run_pipecore(
        "sql", "--data-dir", data, "-e", "create database root.a;\nselect * frm root.a"
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith(
        "Msg: 700: Error occurred while parsing SQL to physical plan: line 2:"
    )
    counted = run_pipecore("sql", "--data-dir", data, "-e", "count databases")
    assert "|count|\n+-----+\n|    0|" in counted.stdout  # IoTDB's header: count


def test_file_and_standard_input(tmp_path: Path) -> None:
    data = str(tmp_path / "node")
    script = tmp_path / "seed.sql"
    script.write_text(
        "CREATE DATABASE root.vehicle;\n"
        "CREATE TIMESERIES root.vehicle.d0.s0 WITH DATATYPE=INT32, ENCODING=RLE;\n"
        "insert into root.vehicle.d0(timestamp,s0) values(now(),10);\n"
        "insert into root.vehicle.d0(timestamp,s0) values(now(),12);\n"
    )
    done = run_pipecore("sql", "--data-dir", data, "-f", str(script))
    assert done.returncode == 0 and done.stdout.count(SUCCESS) == 4, done.stderr
    piped = run_pipecore("sql", "--data-dir", data, stdin="select count(s0) from root.vehicle.d0")
    assert piped.returncode == 0 and "|                        2|" in piped.stdout
    both = run_pipecore("sql", "--data-dir", data, "-h", "127.0.0.1", "-e", "show pipes")
    assert both.returncode == 2 and "either --data-dir" in both.stderr
    missing = run_pipecore("sql", "--data-dir", data, "-f", str(tmp_path / "nope.sql"))
    assert missing.returncode == 1 and "nope.sql" in missing.stderr


class Terminal:
    """A process on a pseudo-terminal; `expect` waits for a pattern in what it printed."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.master = master
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.seen)
            if found:
                self.seen = self.seen[found.end() :]
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; the terminal shows {self.seen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the process ended
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{pattern!r} not seen before EOF: {self.seen!r}")
                self.seen += re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", chunk.decode(errors="replace"))

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        code = self.proc.wait(timeout=20)
        os.close(self.master)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)
            os.close(self.master)


def test_the_prompt_under_a_pseudo_terminal(tmp_path: Path) -> None:
    history = tmp_path / "history"
    env = {**os.environ, "PIPECORE_HISTFILE": str(history), "TERM": "dumb"}
    term = Terminal([*pipecore_command(), "sql", "--data-dir", str(tmp_path / "node")], env)
    try:
        term.expect(r"pipecore> ")
        term.send("create database root.t;\r")
        term.expect(re.escape(SUCCESS))
        term.expect(r"pipecore> ")
        term.send("insert into root.t.d(time, s)\r")  # not complete: asks for more
        term.expect(r"-> ")
        term.send("values (1, 5);\r")
        term.expect(re.escape(SUCCESS))
        term.expect(r"pipecore> ")
        term.send("sel\t")  # keyword completion
        term.expect(r"select ")
        term.send("s from root.t.d\r")
        term.expect(r"Total line number = 1")
        term.expect(r"pipecore> ")
        term.send("start pipe nope\r")
        term.expect(r"Msg: 1107: Failed to start pipe nope, the pipe does not exist")
        term.expect(r"pipecore> ")
        term.send("quit\r")
        code = term.close()
    finally:
        term.kill()
    assert code == 1  # a statement failed during the session
    saved = history.read_text()
    assert "create database root.t;" in saved and "values (1, 5);" in saved


def test_the_prompt_ends_cleanly_on_eof(tmp_path: Path) -> None:
    env = {**os.environ, "PIPECORE_HISTFILE": str(tmp_path / "h"), "TERM": "dumb"}
    term = Terminal([*pipecore_command(), "sql", "--data-dir", str(tmp_path / "node")], env)
    try:
        term.expect(r"pipecore> ")
        term.send("show databases;\r")
        term.expect(r"Empty set\.")
        term.expect(r"pipecore> ")  # readline reads again: Ctrl-D now ends the input
        term.send("\x04")
        assert term.close() == 0
    finally:
        term.kill()
