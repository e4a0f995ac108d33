"""IoTDB's IoTDBPipeLifeCycleIT (pipe/it/autocreate): START/STOP, history on and off, the
source modes, restarts, and who may manage pipes."""

from __future__ import annotations

import threading
import time

import pytest
from iotdb.Session import Session
from iotdb_it import assert_data_always, assert_data_eventually, create_pipe, query, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINK = {"connector.batch.enable": "false"}
ROWS = "Time,root.db.d1.s1,"


def test_life_cycle_with_history_enabled(auto_env) -> None:
    """testLifeCycleWithHistoryEnabled: a stopped pipe holds back, START sends what waited."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time, s1) values (1, 1)")
    create_pipe(sender, "p1", sink=thrift_sink(receiver, SINK))
    expected = {"1,1.0,"}
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    sender.execute("insert into root.db.d1(time, s1) values (2, 2)", "flush")
    expected.add("2,2.0,")
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    sender.execute("stop pipe p1")
    sender.execute("insert into root.db.d1(time, s1) values (3, 3)", "flush")
    assert_data_always(receiver, "select * from root.**", ROWS, expected)
    sender.execute("start pipe p1")
    expected.add("3,3.0,")
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)


def test_life_cycle_with_history_disabled(auto_env) -> None:
    """testLifeCycleWithHistoryDisabled: history.start/end-time are ignored when history is
    off; the schema made after the start travels, what came before does not."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time, s1) values (1, 1)", "flush")
    create_pipe(
        sender,
        "p1",
        source={
            "extractor.inclusion": "all",
            "extractor.inclusion.exclusion": "",
            "extractor.history.enable": "false",
            "extractor.history.start-time": "0001.01.01T00:00:00",
            "extractor.history.end-time": "2100.01.01T00:00:00",
        },
        sink=thrift_sink(receiver, SINK),
    )
    sender.execute(
        "create database root.ln",
        "create timeseries root.db.d1.s2 with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.db.d1(time, s1) values (2, 2)",
        "flush",
    )
    assert_data_eventually(receiver, "select s1 from root.db.d1", ROWS, ["2,2.0,"])
    assert_data_eventually(receiver, "count timeseries", "count(timeseries),", ["2,"])
    assert_data_eventually(receiver, "count databases", "count,", ["2,"])
    sender.execute("stop pipe p1")
    sender.execute(
        "create database root.ln0",
        "create timeseries root.db.d1.s3 with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.db.d1(time, s1) values (3, 3)",
        "flush",
    )
    assert_data_always(receiver, "select s1 from root.db.d1", ROWS, ["2,2.0,"], seconds=1.0)
    assert_data_always(receiver, "count timeseries", "count(timeseries),", ["2,"], seconds=0.5)
    assert_data_always(receiver, "count databases", "count,", ["2,"], seconds=0.5)
    sender.execute("start pipe p1")
    assert_data_eventually(receiver, "select s1 from root.db.d1", ROWS, ["2,2.0,", "3,3.0,"])
    assert_data_eventually(receiver, "count timeseries", "count(timeseries),", ["3,"], 8.0)
    assert_data_eventually(receiver, "count databases", "count,", ["3,"], 8.0)


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("log", id="testLifeCycleLogMode"),
        pytest.param("file", id="testLifeCycleFileMode"),
        pytest.param("hybrid", id="testLifeCycleHybridMode"),
    ],
)
def test_life_cycle_mode(auto_env, mode: str) -> None:
    """testLifeCycle{Log,File,Hybrid}Mode: `extractor.mode` given the realtime modes' names."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time, s1) values (1, 1)")
    create_pipe(sender, "p1", source={"extractor.mode": mode}, sink=thrift_sink(receiver, SINK))
    expected = {"1,1.0,"}
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    sender.execute("insert into root.db.d1(time, s1) values (2, 2)", "flush")
    expected.add("2,2.0,")
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    sender.execute("stop pipe p1")
    sender.execute("insert into root.db.d1(time, s1) values (3, 3)", "flush")
    assert_data_always(receiver, "select * from root.**", ROWS, expected, seconds=1.0)


def test_life_cycle_with_cluster_restart(auto_env) -> None:
    """testLifeCycleWithClusterRestart: the pipe runs on after both nodes restart."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time, s1) values (1, 1)")
    create_pipe(sender, "p1", sink=thrift_sink(receiver, SINK))
    expected = {"1,1.0,"}
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    sender.execute("insert into root.db.d1(time, s1) values (2, 2)", "flush")
    expected.add("2,2.0,")
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)
    for node in (sender, receiver):
        node.stop()
    for node in (sender, receiver):
        node.start()
    sender.execute("insert into root.db.d1(time, s1) values (3, 3)", "flush")
    expected.add("3,3.0,")
    assert_data_eventually(receiver, "select * from root.**", ROWS, expected)


def test_receiver_restart_when_transferring(auto_env) -> None:
    """testReceiverRestartWhenTransferring: 100 single-row inserts while the receiver
    restarts; every row arrives."""
    sender, receiver = auto_env
    create_pipe(sender, "p1", sink=thrift_sink(receiver, SINK))
    writer = Session("127.0.0.1", sender.port, "root", "root")
    writer.open(False)

    def write() -> None:
        for i in range(100):
            writer.execute_non_query_statement(f"insert into root.db.d1(time, s1) values ({i}, 1)")
            time.sleep(0.02)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        receiver.stop()
        receiver.start()
    finally:
        thread.join()
        writer.close()
    sender.execute("flush")
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["100,"]
    )


def test_receiver_already_have_time_series(auto_env) -> None:
    """testReceiverAlreadyHaveTimeSeries."""
    sender, receiver = auto_env
    receiver.execute("insert into root.db.d1(time, s1) values (1, 1)")
    create_pipe(sender, "p1", sink=thrift_sink(receiver, SINK))
    sender.execute("insert into root.db.d1(time, s1) values (2, 2)", "flush")
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["2,"]
    )
    sender.execute("stop pipe p1")
    sender.execute("insert into root.db.d1(time, s1) values (3, 3)", "flush")
    assert_data_always(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["2,"], seconds=1.0
    )


def _fails(session: Session, statement: str, message: str, *, query_: bool = False) -> None:
    with pytest.raises(Exception) as caught:
        if query_:
            session.execute_query_statement(statement)
        else:
            session.execute_non_query_statement(statement)
    assert message in str(caught.value)


def test_permission(auto_env) -> None:
    """testPermission: pipe statements need USE_PIPE (803), then work. (IoTDB's IT makes the
    granted pipe towards 127.0.0.1:6668 and does not check the answer; a pipecore CREATE PIPE
    checks its target as IoTDB 1.3's does, so here it points at the receiver.)"""
    sender, receiver = auto_env
    sender.execute("create user test 'test123'")
    user = Session("127.0.0.1", sender.port, "test", "test123")
    user.open(False)
    denied = "803: No permissions for this operation, please add privilege USE_PIPE"
    create = (
        "create pipe testPipe\nwith connector (\n  'connector'='iotdb-thrift-connector',\n"
        "  'connector.ip'='127.0.0.1',\n  'connector.port'='6668'\n)"
    )
    try:
        _fails(user, create, denied)
        _fails(user, "drop pipe testPipe", denied)
        _fails(user, "show pipes", denied, query_=True)
        _fails(user, "start pipe testPipe", denied)
        _fails(user, "stop pipe testPipe", denied)
        _fails(
            user,
            "create pipePlugin TestProcessor as 'org.apache.iotdb.db.pipe.example.TestProcessor' "
            "USING URI 'xxx'",
            denied,
        )
        _fails(user, "drop pipePlugin TestProcessor", denied)
        _fails(user, "show pipe plugins", denied, query_=True)
        sender.execute("grant USE_PIPE on root.** to user test")
        user.execute_non_query_statement(create.replace("6668", str(receiver.port)))
        user.execute_query_statement("show pipes").close_operation_handle()
        for statement in ("start pipe testPipe", "stop pipe testPipe", "drop pipe testPipe"):
            user.execute_non_query_statement(statement)
        user.execute_query_statement("show pipePlugins").close_operation_handle()
    finally:
        user.close()
    assert query(sender, "show pipes")[1] == set()
