"""Pipes and pipe plugins managed with SQL on a node: SHOW PIPES' nine columns, states, errors."""

from __future__ import annotations

import re
import time

import pytest

from pipecore import LEGACY_SYNC_TRANSPORT, Node
from pipecore.sql import SqlSemanticError, SqlSyntaxError
from pipecore.sql.outcome import StatementError
from pipecore.sql.pipe_receivers import SHOW_PIPE_RECEIVERS_COLUMNS
from pipecore.sql.result import SHOW_PIPEPLUGINS_COLUMNS, SHOW_PIPES_COLUMNS
from pipecore.testing import plugins as testing_plugins
from pipecore.testing import wait_until

QUIET = "WITH SOURCE ('source'='do-nothing-source') WITH SINK ('sink'='do-nothing-sink')"


def _show(node: Node, sql: str = "SHOW PIPES") -> list[dict[str, str]]:
    return node.execute(sql).as_dicts()


def test_create_show_stop_start_drop(node: Node) -> None:
    result = node.execute(f"CREATE PIPE p1 {QUIET}")
    assert result.render() == "Msg: The statement is executed successfully."
    table = node.execute("SHOW PIPES")
    assert table.columns == SHOW_PIPES_COLUMNS
    (row,) = table.as_dicts()
    assert row["ID"] == "p1" and row["State"] == "RUNNING"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{3})?)?", row["CreationTime"])
    assert row["PipeSource"] == "{source=do-nothing-source}"
    assert row["PipeProcessor"] == "{}"
    assert row["PipeSink"] == "{sink=do-nothing-sink}"
    assert row["ExceptionMessage"] == ""
    node.execute("STOP PIPE p1")
    node.execute("STOP PIPE p1")  # a no-op, as in IoTDB 1.3
    (row,) = _show(node, "SHOW PIPE p1")
    assert row["State"] == "STOPPED"
    assert row["RemainingEventCount"] == "Unknown"  # not running: nothing measured
    assert row["EstimatedRemainingSeconds"] == "Unknown"
    node.execute("START PIPE p1")
    assert _show(node)[0]["State"] == "RUNNING"
    node.execute("DROP PIPE p1")
    assert _show(node) == []
    with pytest.raises(
        SqlSemanticError, match="Failed to start pipe p1, the pipe is already dropped"
    ):
        node.execute("START PIPE p1")


def test_parameters_are_sorted_and_secrets_masked(node: Node) -> None:
    node.execute(
        "CREATE PIPE p2 WITH SOURCE ('source'='do-nothing-source', 'b'='2', 'a'='1') "
        "WITH SINK ('sink'='do-nothing-sink', 'sink.password'='s3cret', "
        "'ssl.trust-store-pwd'='pw', 'sink.user'='root')"
    )
    (row,) = _show(node)
    assert row["PipeSource"] == "{a=1, b=2, source=do-nothing-source}"
    assert "s3cret" not in row["PipeSink"] and "=pw" not in row["PipeSink"]
    assert row["PipeSink"] == (
        "{sink=do-nothing-sink, sink.password=******, sink.user=root, ssl.trust-store-pwd=******}"
    )


def test_errors_name_the_pipe_say_what_to_do_and_carry_a_position(node: Node) -> None:
    node.execute(f"CREATE PIPE p {QUIET}")
    with pytest.raises(StatementError) as caught:
        node.execute_script(f"SHOW PIPES;\n  CREATE PIPE p {QUIET}")
    error = caught.value
    assert "Failed to create pipe p, the pipe with the same name has been created" in str(error)
    assert (error.line, error.column, error.status_code, error.subject) == (2, 3, 1107, "p")
    assert error.iotdb_message().startswith("1107: Failed to create pipe p")
    assert len(error.completed) == 1  # SHOW PIPES ran before
    assert not node.execute(f"CREATE PIPE IF NOT EXISTS p {QUIET}").is_query
    for sql, message in [
        ("START PIPE nope", "Failed to start pipe nope, the pipe does not exist"),
        ("STOP PIPE nope", "Failed to stop pipe nope, the pipe does not exist"),
        ("DROP PIPE nope", "Failed to drop pipe nope. Failures: nope does not exist."),
        ("SHOW PIPE nope", "nope does not exist"),
        (
            "CREATE PIPE q WITH SOURCE ('source'='do-nothing-source') "
            "WITH SINK ('sink'='no-such-sink')",
            "PipePlugin NO-SUCH-SINK has not been registered",
        ),
    ]:
        with pytest.raises(StatementError, match=re.escape(message)) as caught:
            node.execute(sql)
        assert caught.value.line == 1 and caught.value.column == 1
    node.execute("DROP PIPE IF EXISTS nope")
    assert [r["ID"] for r in _show(node)] == ["p"]  # the failed CREATE left nothing


def test_a_syntax_error_runs_nothing_of_the_script(node: Node) -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        node.execute_script(f"CREATE PIPE a {QUIET};\nCREATE PIPEE b")
    assert (caught.value.line, caught.value.column) == (2, 8)
    assert _show(node) == []


def test_alter_pipe_modify_and_replace(node: Node) -> None:
    node.execute(
        "CREATE PIPE p WITH SOURCE ('source'='do-nothing-source') "
        "WITH SINK ('sink'='do-nothing-sink', 'sink.x'='1', 'sink.y'='2')"
    )
    node.execute("ALTER PIPE p MODIFY SINK ('x'='9')")
    assert _show(node)[0]["PipeSink"] == "{sink=do-nothing-sink, sink.y=2, x=9}"
    node.execute("ALTER PIPE p REPLACE SINK ('sink'='do-nothing-sink')")
    assert _show(node)[0]["PipeSink"] == "{sink=do-nothing-sink}"
    assert _show(node)[0]["State"] == "RUNNING"
    node.execute("ALTER PIPE IF EXISTS nope MODIFY SINK ('x'='1')")
    with pytest.raises(
        StatementError, match=r"Failed to alter pipe nope, pipe not found in system"
    ):
        node.execute("ALTER PIPE nope MODIFY SINK ('x'='1')")


def test_show_pipes_where_sink_used_by(node: Node) -> None:
    node.execute(f"CREATE PIPE a {QUIET}")
    node.execute(f"CREATE PIPE b {QUIET}")
    node.execute(
        "CREATE PIPE c WITH SOURCE ('source'='do-nothing-source') "
        "WITH SINK ('sink'='do-nothing-sink', 'k'='v')"
    )
    used = [r["ID"] for r in _show(node, "SHOW PIPES WHERE SINK USED BY a")]
    assert used == ["a", "b"]
    assert [r["ID"] for r in _show(node, "SHOW PIPES WHERE CONNECTOR USED BY c")] == ["c"]
    assert _show(node, "SHOW PIPES WHERE SINK USED BY nope") == []


def test_remaining_events_come_from_the_running_pipe(node: Node) -> None:
    testing_plugins.reset("slow")
    node.execute(
        "CREATE PIPE slow WITH SOURCE ('source'='generated-source', 'points'='400', "
        "'rows-per-tablet'='10') WITH SINK ('sink'='counting-sink', 'counter'='slow', "
        "'delay-ms'='20')"
    )
    counts = testing_plugins.counts("slow")
    wait_until(lambda: counts.tablets >= 2, 20)
    (row,) = _show(node)
    remaining = int(row["RemainingEventCount"])
    # 40 tablets in all; what is left cannot exceed what was not yet counted by the sink
    assert 1 <= remaining <= 40 - counts.tablets + 2
    assert (
        row["EstimatedRemainingSeconds"] == "Unknown" or float(row["EstimatedRemainingSeconds"]) > 0
    )
    wait_until(lambda: counts.points >= 400, 30)
    wait_until(lambda: _show(node)[0]["RemainingEventCount"] == "0", 10)
    assert _show(node)[0]["EstimatedRemainingSeconds"] == "0.00"


def test_only_sync_tool_senders_are_rows_of_show_pipes(node: Node) -> None:
    # IoTDB 1.3/2.0 never lists pipeTransfer / air-gap senders; the sync tool did (seed 001)
    node.execute(f"CREATE PIPE a {QUIET}")
    modern = node.receivers.open("thrift", "192.168.11.11:50123", "cluster-7")
    node.receivers.update(modern, databases={"root.vehicle"}, points=6)
    gap = node.receivers.open("air-gap", "192.168.11.12:50124")
    legacy = node.receivers.open(LEGACY_SYNC_TRANSPORT, "192.168.11.13:50125")
    node.receivers.update(legacy, databases={"root.sg"}, points=3)
    rows = _show(node)
    assert [r["ID"] for r in rows] == ["a", f"receiver-{legacy.id}"]
    receiver = rows[1]
    assert receiver["State"] == "RUNNING"
    assert receiver["PipeSource"] == (
        "{remote=192.168.11.13:50125, role=receiver, transport=thrift-legacy}"
    )
    assert receiver["PipeSink"] == "{database=root.sg, files=0, points=3}"
    assert receiver["RemainingEventCount"] == "Unknown"
    assert [r["ID"] for r in _show(node, "SHOW PIPE a")] == ["a"]
    node.receivers.close(legacy)
    assert [r["ID"] for r in _show(node)] == ["a"]
    # pipecore's own view lists every connected sender
    listed = _show(node, "SHOW PIPE RECEIVERS")
    assert list(listed[0]) == list(SHOW_PIPE_RECEIVERS_COLUMNS)
    assert [(r["ID"], r["Transport"], r["Remote"]) for r in listed] == [
        (str(modern.id), "thrift", "192.168.11.11:50123"),
        (str(gap.id), "air-gap", "192.168.11.12:50124"),
    ]
    assert listed[0]["ClusterId"] == "cluster-7" and listed[0]["Databases"] == "root.vehicle"
    assert listed[0]["Points"] == "6" and listed[1]["LastError"] == "null"
    node.receivers.close(modern)
    node.receivers.close(gap)
    assert _show(node, "show pipe receivers") == []


def test_a_pipe_named_receivers_is_shown_quoted(node: Node) -> None:
    node.execute(f"CREATE PIPE `receivers` {QUIET}")
    assert [r["ID"] for r in _show(node, "SHOW PIPE `receivers`")] == ["receivers"]
    assert _show(node, "SHOW PIPE RECEIVERS") == []


def test_a_failed_pipe_shows_its_exception(node: Node) -> None:
    # in-process-sink checks its target in the handshake: CREATE fails, nothing is stored
    with pytest.raises(StatementError, match="no node 'gone' in this process") as caught:
        node.execute(
            "CREATE PIPE bad WITH SOURCE ('source'='generated-source', 'points'='10') "
            "WITH SINK ('sink'='in-process-sink', 'node'='gone')"
        )
    assert caught.value.status_code == 1107
    assert _show(node) == []


def test_show_pipeplugins(node: Node) -> None:
    table = node.execute("SHOW PIPEPLUGINS")
    assert table.columns == SHOW_PIPEPLUGINS_COLUMNS
    rows = {r["PluginName"]: r for r in table.as_dicts()}
    assert rows["DO-NOTHING-SINK"]["PluginType"] == "Builtin"
    assert rows["DO-NOTHING-SINK"]["ClassName"] == "pipecore.builtin.DoNothingSink"
    assert rows["DO-NOTHING-SINK"]["PluginJar"] == ""
    assert rows["COUNTING-SINK"]["PluginType"] == "External"
    assert list(rows) == sorted(rows)


def test_create_and_drop_pipeplugin(node: Node, tmp_path) -> None:
    plugin = tmp_path / "my_sink.py"
    plugin.write_text(
        "from pipecore import Connector\n"
        "class MySink(Connector):\n"
        "    def connector_transfer_tablet(self, event):\n"
        "        pass\n"
    )
    node.execute(f"CREATE PIPEPLUGIN MySink AS 'my_sink:MySink' USING URI '{plugin.as_uri()}'")
    rows = {r["PluginName"]: r for r in _show(node, "SHOW PIPEPLUGINS")}
    assert rows["MYSINK"]["PluginType"] == "External"
    assert rows["MYSINK"]["PluginJar"].endswith("my_sink.py")
    with pytest.raises(StatementError, match="the same name PipePlugin has been created") as e:
        node.execute(f"CREATE PIPEPLUGIN mysink AS 'my_sink:MySink' USING URI '{plugin.as_uri()}'")
    assert e.value.status_code == 1600
    node.execute(
        f"CREATE PIPEPLUGIN IF NOT EXISTS mysink AS 'my_sink:MySink' USING URI '{plugin.as_uri()}'"
    )
    node.execute(
        "CREATE PIPE p WITH SOURCE ('source'='do-nothing-source') WITH SINK ('sink'='mysink')"
    )
    with pytest.raises(StatementError, match="is already used by Pipe 'p' as a sink"):
        node.execute("DROP PIPEPLUGIN mysink")
    node.execute("DROP PIPE p")
    node.execute("DROP PIPEPLUGIN mysink")
    node.execute("DROP PIPEPLUGIN IF EXISTS mysink")
    # IoTDB's codes and texts (IoTDBPipeSyntaxIT.testPipePluginValidation)
    with pytest.raises(StatementError) as caught:
        node.execute("DROP PIPEPLUGIN mysink")
    assert caught.value.iotdb_message() == (
        "1601: Failed to drop PipePlugin [MYSINK], this PipePlugin has not been created"
    )
    with pytest.raises(StatementError, match="built-in PipePlugin") as caught:
        node.execute("DROP PIPEPLUGIN `do-nothing-sink`")
    assert caught.value.status_code == 1601
    with pytest.raises(StatementError) as caught:
        node.execute("CREATE PIPEPLUGIN t AS 'a.T' USING URI 'file:.*'")
    assert caught.value.iotdb_message() == "701: URI is not hierarchical"
    with pytest.raises(StatementError) as caught:
        node.execute(f"CREATE PIPEPLUGIN TestP AS 'a.T' USING URI '{tmp_path.as_uri()}/P.jar'")
    assert caught.value.iotdb_message() == (
        "1603: Failed to get executable for PipePlugin TestP, please check the URI."
    )


def test_a_plugin_that_failed_to_load_is_listed_with_its_error(tmp_path) -> None:
    plugin = tmp_path / "flaky.py"
    plugin.write_text("from pipecore import Connector\nclass Flaky(Connector):\n    pass\n")
    with Node.open(tmp_path / "n") as node:
        node.execute(f"CREATE PIPEPLUGIN flaky AS 'flaky:Flaky' USING URI '{plugin.as_uri()}'")
        copied = next((node.lib_dir / "FLAKY").rglob("flaky.py"))
    copied.write_text("raise RuntimeError('broken on purpose')\n")
    with Node.open(tmp_path / "n") as node:
        rows = {r["PluginName"]: r for r in _show(node, "SHOW PIPEPLUGINS")}
    assert "broken on purpose" in rows["FLAKY"]["ClassName"]
    assert rows["FLAKY"]["PluginType"] == "External"


def test_pipes_survive_a_restart_and_show_again(tmp_path) -> None:
    with Node.open(tmp_path / "n") as node:
        node.execute(f"CREATE PIPE keep {QUIET}")
        node.execute("STOP PIPE keep")
        created = _show(node)[0]["CreationTime"]
    time.sleep(0.01)
    with Node.open(tmp_path / "n") as node:
        (row,) = _show(node)
        assert (row["ID"], row["State"], row["CreationTime"]) == ("keep", "STOPPED", created)


def test_untrusted_plugin_uri_has_iotdb_answer() -> None:
    """With ``trusted_uri_pattern`` in the node's configuration (issue 12 adds the key), an
    URI outside it gets IoTDB's 701 text."""
    from pipecore.sql.plugin_status import check_plugin_uri
    from pipecore.sql.statements import CreatePipePlugin

    class _Config:
        def as_dict(self) -> dict[str, str]:
            return {"trusted_uri_pattern": "file:.*"}

    from pipecore.sql import parse_statement

    s = parse_statement("create pipePlugin TestProcessor as 'a.TestProcessor' USING URI 'xxx'")
    assert isinstance(s, CreatePipePlugin)
    with pytest.raises(StatementError) as caught:
        check_plugin_uri(s, _Config())
    assert caught.value.iotdb_message() == (
        "701: Untrusted uri xxx, current trusted_uri_pattern is file:.*"
    )
