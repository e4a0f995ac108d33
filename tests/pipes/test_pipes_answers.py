"""IoTDB's answers where pipecore's differed (issue 15 #5), over a real `pipecore serve`
process and IoTDB's own status codes."""

from __future__ import annotations

import time

import pytest
from thrift_processes import Serve

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    n = Serve(tmp_path_factory.mktemp("answers"), "N").start()
    yield n
    n.stop()


@pytest.mark.parametrize(
    ("statement", "code", "message"),
    [
        ("DROP PIPE nope", 1806, "Failed to drop pipe nope. Failures: nope does not exist."),
        ("START PIPE nope", 1107, "Failed to start pipe nope, the pipe does not exist"),
        ("STOP PIPE nope", 1107, "Failed to stop pipe nope, the pipe does not exist"),
        ("ALTER PIPE nope MODIFY SINK ('batch.enable'='true')", 1107,
         "Failed to alter pipe nope, pipe not found in system."),
    ],
)  # fmt: skip
def test_missing_pipe_answers(node: Serve, statement: str, code: int, message: str) -> None:
    """DROP of a missing pipe answers PIPE_NOT_EXIST_ERROR 1806, START/STOP/ALTER PIPE_ERROR
    1107 (IoTDB 2.0.1 through SQL; IoTDBPipeSwitchStatusIT.testWrongPipeName)."""
    with pytest.raises(ServerError) as caught:
        node.sql(statement)
    assert caught.value.status_code == code
    assert message in caught.value.reason
    node.sql("DROP PIPE IF EXISTS nope")  # IF EXISTS: no error


def test_zstd_level_out_of_range_has_iotdb_text(node: Serve) -> None:
    """IoTDB's IoTDBPipeProtocolIT / SyntaxIT check for this text."""
    with pytest.raises(ServerError) as caught:
        node.sql(
            "create pipe z with sink ('sink'='iotdb-thrift-sink', 'sink.ip'='127.0.0.1', "
            "'sink.port'='6668', 'sink.compressor'='zstd, zstd', "
            "'sink.compressor.zstd.level'='-131073')"
        )
    assert caught.value.status_code == 1107
    assert "Zstd compression level should be in the range [-131072, 22], but got -131073." in (
        caught.value.reason
    )


def test_alter_pipe_renews_creation_time(node: Serve) -> None:
    """IoTDB's AlterPipeProcedureV2 gives the altered pipe a new creation time."""
    node.sql("CREATE PIPE alt WITH SINK ('sink'='do-nothing-sink')")
    try:
        [before] = [r for r in node.rows("SHOW PIPES") if r[0] == "alt"]
        time.sleep(0.05)
        node.sql("ALTER PIPE alt MODIFY SINK ('sink.x'='1')")
        [after] = [r for r in node.rows("SHOW PIPES") if r[0] == "alt"]
        assert after[1] > before[1]  # ISO-8601 times of the same zone sort as text
        assert after[2] == "RUNNING"
    finally:
        node.sql("DROP PIPE alt")


@pytest.mark.parametrize(
    ("statement", "answer"),
    [
        (
            "create pipePlugin TestProcessor as 'org.apache.iotdb.db.pipe.example.TestProcessor' "
            "USING URI 'file:.*'",
            "701: URI is not hierarchical",
        ),
        (
            "create pipePlugin TestProcessor as 'org.apache.iotdb.db.pipe.example.TestProcessor' "
            "USING URI 'file:///nowhere/target/test-classes/PipePlugin.jar'",
            "1603: Failed to get executable for PipePlugin TestProcessor, please check the URI.",
        ),
        (
            "drop pipePlugin test_processor",
            "1601: Failed to drop PipePlugin [TEST_PROCESSOR], this PipePlugin has not been "
            "created",
        ),
        (
            "drop pipePlugin `Do-Nothing-Sink`",
            "1601: Failed to drop PipePlugin [DO-NOTHING-SINK], the PipePlugin is a built-in "
            "PipePlugin",
        ),
    ],
)
def test_pipeplugin_answers(node: Serve, statement: str, answer: str) -> None:
    """IoTDB's IoTDBPipeSyntaxIT.testPipePluginValidation, word for word."""
    with pytest.raises(ServerError) as caught:
        node.sql(statement)
    assert caught.value.iotdb_message() == answer
