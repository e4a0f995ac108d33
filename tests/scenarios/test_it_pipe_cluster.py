"""IoTDB's IoTDBPipeClusterIT (pipe/it/dual/treemodel/auto/enhanced; autocreate in 1.3): the
methods one sender and one receiver of one node each can run. The others need a cluster of
three DataNodes (a killed receiver node, a region leader stopped, a DataNode registered while
pipes run) and are skipped with that reason."""

from __future__ import annotations

import threading

import pytest
from iotdb.Session import Session
from iotdb_it import ItNode, assert_data_eventually, create_pipe
from it_pipe_admin import pipe_count, show_pipes

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINK = {"sink": "iotdb-thrift-sink", "sink.batch.enable": "false"}
COUNT = "count(root.db.d1.s1),"


def sink_of(receiver: ItNode) -> dict[str, str]:
    return {**SINK, "sink.ip": "127.0.0.1", "sink.port": str(receiver.port)}


@pytest.mark.parametrize("mode", ["log", "file", "hybrid"])
def test_with_all_parameters(auto_env, mode: str) -> None:
    """testWithAllParametersIn{Log,File,Hybrid}Mode."""
    sender, receiver = auto_env
    sender.execute(
        "insert into root.db.d1(time, s1) values (2010-01-01T10:00:00+08:00, 1)",
        "insert into root.db.d1(time, s1) values (2010-01-02T10:00:00+08:00, 2)",
        "flush",
    )
    source = {
        "source": "iotdb-source",
        "source.pattern": "root.db.d1",
        "source.history.enable": "true",
        "source.history.start-time": "2010-01-01T08:00:00+08:00",
        "source.history.end-time": "2010-01-02T08:00:00+08:00",
        "source.realtime.enable": "true",
        "source.realtime.mode": mode,
    }
    sink = {**sink_of(receiver), "sink.user": "root", "sink.password": "root"}
    create_pipe(
        sender, "p1", source=source, processor={"processor": "do-nothing-processor"}, sink=sink
    )
    assert_data_eventually(receiver, "select count(*) from root.db.**", COUNT, ["1,"])
    sender.execute("insert into root.db.d1(time, s1) values (now(), 3)", "flush")
    assert_data_eventually(receiver, "select count(*) from root.db.**", COUNT, ["2,"])


def test_sender_restart_when_transferring(auto_env) -> None:
    """testSenderRestartWhenTransferring: 100 rows, a flush, the sender restarts; all arrive."""
    sender, receiver = auto_env
    create_pipe(sender, "p1", sink=sink_of(receiver))
    for i in range(100):
        sender.execute(f"insert into root.db.d1(time, s1) values ({i * 1000}, 1)")
    sender.execute("flush")
    sender.stop()
    sender.start()
    assert_data_eventually(receiver, "select count(*) from root.db.**", COUNT, ["100,"])


def _concurrently(node: ItNode, statements: list[str]) -> int:
    """Each statement from its own client at once (the IT's threads); how many succeeded."""
    sessions = []
    for _ in statements:
        session = Session("127.0.0.1", node.port, "root", "root")
        session.open(False)
        sessions.append(session)
    succeeded: list[str] = []
    barrier = threading.Barrier(len(statements))

    def run(session: Session, sql: str) -> None:
        barrier.wait()
        try:
            session.execute_non_query_statement(sql)
        except Exception:  # a refusal: the IT counts successes only
            return
        succeeded.append(sql)

    threads = [
        threading.Thread(target=run, args=pair) for pair in zip(sessions, statements, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for session in sessions:
        session.close()
    return len(succeeded)


def _create_sql(name: str, receiver: ItNode) -> str:
    body = ",".join(f"'{k}'='{v}'" for k, v in sink_of(receiver).items())
    return f"create pipe {name} with sink ({body})"


def test_concurrently_create_pipe_of_same_name(auto_env) -> None:
    """testConcurrentlyCreatePipeOfSameName: of 10 concurrent CREATE PIPE p1 one succeeds; of
    10 concurrent DROP PIPE p1 at least one, and no pipe is left."""
    sender, receiver = auto_env
    assert _concurrently(sender, [_create_sql("p1", receiver)] * 10) == 1
    assert _concurrently(sender, ["drop pipe p1"] * 10) >= 1
    assert pipe_count(sender) == 0


@pytest.mark.parametrize("count", [10, 50, 100])
def test_create_pipes_with_same_connector(auto_env, count: int) -> None:
    """testCreate{10,50,100}PipesWithSameConnector: all created concurrently, and SHOW PIPES
    WHERE SINK USED BY p1 lists every one (they share one sink)."""
    sender, receiver = auto_env
    created = _concurrently(sender, [_create_sql(f"p{i}", receiver) for i in range(count)])
    assert created == count
    assert pipe_count(sender) == created
    assert len(show_pipes(sender, "show pipes where sink used by p1")) == created


def test_negative_timestamp(auto_env) -> None:
    """testNegativeTimestamp."""
    sender, receiver = auto_env
    sender.execute(
        "insert into root.db.d1(time, s1) values (0, 1)",
        "insert into root.db.d1(time, s1) values (-1, 2)",
        "insert into root.db.d1(time, s1) values (1960-01-02T10:00:00+08:00, 2)",
        "flush",
    )
    sink = {k: v for k, v in sink_of(receiver).items() if k != "sink.batch.enable"}
    create_pipe(
        sender,
        "p1",
        source={"source": "iotdb-source"},
        processor={"processor": "do-nothing-processor"},
        sink=sink,
    )
    assert_data_eventually(receiver, "select count(*) from root.db.**", COUNT, ["3,"])
    sender.execute(
        "insert into root.db.d1(time, s1) values (-122, 3)",
        "insert into root.db.d1(time, s1) values (-123, 3), (now(), 3)",
        "flush",
    )
    assert_data_eventually(receiver, "select count(*) from root.db.**", COUNT, ["6,"])


THREE_NODES = "needs a cluster of three DataNodes"


@pytest.mark.parametrize(
    "method, why",
    [
        ("testMachineDowntimeAsync", "the receiver is 3 DataNodes (sink.node-urls), one killed"),
        ("testMachineDowntimeSync", "the receiver is 3 DataNodes (sink.node-urls), one killed"),
        ("testPipeAfterDataRegionLeaderStop", "a data region's leader DataNode is restarted"),
        ("testPipeAfterRegisterNewDataNode", "a DataNode joins the sender while the pipe runs"),
        ("testCreatePipeWhenRegisteringNewDataNode", "a DataNode joins while pipes are created"),
        ("testRegisteringNewDataNodeWhenTransferringData", "a DataNode joins during writes"),
        ("testRegisteringNewDataNodeAfterTransferringData", "a DataNode joins after writes"),
        ("testNewDataNodeFailureParallelToTransferringData", "@Ignore'd in IoTDB itself"),
    ],
)
def test_cluster_only(method: str, why: str) -> None:
    pytest.skip(f"{method}: {THREE_NODES} (3C3D); {why}")
