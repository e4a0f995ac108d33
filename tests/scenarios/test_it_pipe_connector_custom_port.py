"""IoTDB's IoTDBPipeConnectorCustomPortIT (pipe/it/autocreate; dual/treemodel/auto/basic
later): the sink binds its local port from ``send-port.range.min``..``max`` or from the
``send-port.candidate`` list (``send-port.restriction-strategy``), for the async and sync
thrift sinks and the air-gap sink. IoTDB 2.0.1 has none of these options (it ignores them, so
the IT passes there on the data alone); later IoTDBs bind the port, and so does pipecore:
beyond the IT, the receiver's SHOW PIPE RECEIVERS shows every sender port within the set."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, query

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.mark.parametrize("strategy", ["range", "candidate"], ids=["Range", "Candidate"])
@pytest.mark.parametrize(
    "connector",
    [
        pytest.param("iotdb-thrift-async-connector", id="testAsyncPort"),
        pytest.param("iotdb-thrift-sync-connector", id="testSyncThriftPort"),
        pytest.param("iotdb-air-gap-connector", id="testAirGapPort"),
    ],
)
def test_custom_port(auto_env, connector: str, strategy: str) -> None:
    """test{Async,SyncThrift,AirGap}Port{Range,Candidate} (doTest)."""
    sender, receiver = auto_env
    port = receiver.air_gap_port if "air-gap" in connector else receiver.port
    sink = {
        "connector": connector,
        "batch.enable": "false",
        "node-urls": f"127.0.0.1:{port}",
        "send-port.restriction-strategy": strategy,
    }
    if strategy == "range":
        sink |= {"send-port.range.min": "1024", "send-port.range.max": "1524"}
        allowed = set(range(1024, 1525))
    else:
        sink["send-port.candidate"] = ",".join(str(1024 + i) for i in range(31))
        allowed = set(range(1024, 1055))
    before = max(
        (int(r.split(",")[0]) for r in query(receiver, "show pipe receivers")[1]), default=0
    )
    create_pipe(sender, "p1", source={"realtime.mode": "forced-log"}, sink=sink)
    # (the IT sleeps 2 s here; the inserts are retried instead)
    sender.try_execute(
        "insert into root.db.d1(time, s1) values (2010-01-01T10:00:00+08:00, 1)",
        "insert into root.db.d1(time, s1) values (2010-01-02T10:00:00+08:00, 2)",
        "flush",
    )
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["2,"]
    )
    header, rows = query(receiver, "show pipe receivers")
    remote = header.split(",").index("Remote")
    cells = [row.split(",") for row in rows]
    ports = {int(c[remote].rpartition(":")[2]) for c in cells if int(c[0]) > before}
    assert ports and ports <= allowed, ports
