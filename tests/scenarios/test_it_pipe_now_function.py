"""IoTDB's PipeNowFunctionIT (pipe/it/autocreate): `now` as every start/end time of a source,
under its three key spellings, at CREATE and at ALTER."""

from __future__ import annotations

import pytest
from it_pipe_admin import show_pipes, sink_sql, states

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

TIMES = ("start-time", "end-time", "history.start-time", "history.end-time")


def _now(prefix: str) -> str:
    return ",".join(f"'{prefix}{key}'='now'" for key in TIMES)


def test_pipe_now_function(auto_env) -> None:
    """testPipeNowFunction: p1..p3 made with `now` times, p1 altered (MODIFY) twice."""
    sender, receiver = auto_env
    sender.execute(
        f"create pipe p1 with source ({_now('source.')},'source.history.enable'='true')"
        f" with connector ({sink_sql(receiver)})",
        f"create pipe p2 with source ({_now('')},'history.enable'='true')"
        f" with connector ({sink_sql(receiver)})",
        f"create pipe p3 with source ({_now('extractor.')},'history.enable'='true')"
        f" with connector ({sink_sql(receiver)})",
    )
    assert states(sender)["p1"] == "RUNNING"
    sender.execute("start pipe p1")
    assert states(sender)["p1"] == "RUNNING"
    sender.execute(f"alter pipe p1 modify source ({_now('extractor.')})")
    assert states(sender)["p1"] == "RUNNING"
    sender.execute(f"alter pipe p1 modify source ({_now('')})")
    sender.execute("stop pipe p1")
    assert "p1" in {row["ID"] for row in show_pipes(sender)}


def test_tree_mode_sql_support_now_func(auto_env) -> None:
    """testTreeModeSQLSupportNowFunc."""
    sender, receiver = auto_env
    for name, prefix in (("p1", "source."), ("p2", ""), ("p3", "extractor.")):
        sender.execute(
            f"create pipe {name} with extractor ('extractor.history.enable'='true',"
            f"{_now(prefix)}) with connector ({sink_sql(receiver)})"
        )
    sender.execute(
        f"alter pipe p3 modify extractor ('history.enable'='true',{_now('')})",
        f"alter pipe p3 modify extractor ('extractor.history.enable'='true',{_now('extractor.')})",
        f"alter pipe p3 modify source ('extractor.history.enable'='true',{_now('source.')})",
    )
    assert set(states(sender)) == {"p1", "p2", "p3"}
