"""Passwords typed at the `pipecore sql` prompt never reach its history file."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from cli_helpers import pipecore_command
from test_cli_sql import SUCCESS, Terminal


def test_passwords_stay_out_of_the_history(tmp_path: Path) -> None:
    history = tmp_path / "history"
    env = {**os.environ, "PIPECORE_HISTFILE": str(history), "TERM": "dumb"}
    term = Terminal([*pipecore_command(), "sql", "--data-dir", str(tmp_path / "node")], env)
    try:
        term.expect(r"pipecore> ")
        term.send("create user bob 'Hist0rySecret';\r")
        term.expect(re.escape(SUCCESS))
        term.expect(r"pipecore> ")
        term.send("alter user bob\r")
        term.expect(r"-> ")
        term.send("set password 'An0therSecret';\r")
        term.expect(re.escape(SUCCESS))
        term.expect(r"pipecore> ")
        term.send("create database root.t;\r")
        term.expect(re.escape(SUCCESS))
        term.expect(r"pipecore> ")
        term.send("quit\r")
        assert term.close() == 0
    finally:
        term.kill()
    saved = history.read_text()
    assert "Hist0rySecret" not in saved and "An0therSecret" not in saved
    assert "create user bob '******';" in saved and "create database root.t;" in saved
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
