"""The sync tool's protocol between two real `pipecore serve` processes, both ways (seed 001):
PIPESINK with ``version='1.1'`` (pipecore's attribute: the receiver is an IoTDB 1.0/1.1), CREATE
PIPE ... TO, START PIPE; seed 001 §7's result-verification example; SHOW PIPESINK and SHOW
PIPES on both ends as the seed shows them; a deletion (SyncDelOp=true); a sender outside the
receiver's ``ip_white_list`` is refused (ERROR on its row)."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

T0 = 1649000000000


def seed_001(db: str) -> list[str]:
    return [
        f"CREATE DATABASE {db}",
        f"CREATE TIMESERIES {db}.d0.s0 WITH DATATYPE=INT32, ENCODING=RLE",
        f"CREATE TIMESERIES {db}.d0.s1 WITH DATATYPE=TEXT, ENCODING=PLAIN",
        f"CREATE TIMESERIES {db}.d1.s2 WITH DATATYPE=FLOAT, ENCODING=RLE",
        f"CREATE TIMESERIES {db}.d1.s3 WITH DATATYPE=BOOLEAN, ENCODING=PLAIN",
        f"insert into {db}.d0(timestamp,s0) values({T0},10)",
        f"insert into {db}.d0(timestamp,s0,s1) values({T0 + 231},12,'12')",
        f"insert into {db}.d0(timestamp,s1) values({T0 + 266},'14')",
        f"insert into {db}.d1(timestamp,s2) values({T0 + 411},16.0)",
        f"insert into {db}.d1(timestamp,s2,s3) values({T0 + 626},18.0,true)",
        f"insert into {db}.d1(timestamp,s3) values({T0 + 1136},false)",
        "flush",
    ]


def _select(node: Serve, db: str) -> list:
    return node.rows(f"select ** from {db}")


def _sync(sender: Serve, receiver: Serve, db: str, pipe: str) -> None:
    host, port = receiver.url.split(":")
    sender.sql(f"CREATE PIPESINK {pipe}_sink AS IoTDB (ip='{host}', port={port}, version='1.1')")
    sender.sql(
        f"CREATE PIPE {pipe} TO {pipe}_sink FROM (select ** from root where time>=0) "
        "WITH SyncDelOp=true"
    )
    sender.sql(f"START PIPE {pipe}")
    want = _select(sender, db)
    assert len(want) == 6
    wait_for(lambda: _select(receiver, db) == want, 60, f"{db} at the receiver", (sender, receiver))


def test_both_ways_between_two_nodes(tmp_path) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        for statement in seed_001("root.vehicle"):
            a.sql(statement)
        _sync(a, b, "root.vehicle", "my_pipe1")
        # SHOW PIPESINK (seed 001's three columns) and SHOW PIPES at the sender
        host, port = b.url.split(":")
        assert a.rows("SHOW PIPESINK my_pipe1_sink") == [
            ("my_pipe1_sink", "IoTDB", f"ip='{host}',port={port},version='1.1'")
        ]
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "my_pipe1"]
        assert row[2] == "RUNNING" and row[6] == "NORMAL"
        assert row[3] == "{DataStartTimestamp=0, SyncDelOp=true, remote=my_pipe1_sink, role=sender}"
        assert "sink=iotdb-legacy-pipe-sink" in row[5] and "sink.version=1.1" in row[5]
        # SHOW PIPES at the receiver: the sender's pipe, its address, the database, NORMAL
        [got] = [r for r in b.rows("SHOW PIPES") if "role=receiver" in str(r[3])]
        assert got[0] == "my_pipe1" and got[2] == "RUNNING" and got[6] == "NORMAL"
        assert "remote=127.0.0.1:" in got[3] and "transport=thrift-legacy" in got[3]
        assert "database=root.vehicle" in got[5]
        # a deletion travels as the sync tool's DeletionPipeData
        a.sql(f"delete from root.vehicle.d0.s0 where time <= {T0 + 231}")
        want = _select(a, "root.vehicle")
        wait_for(lambda: _select(b, "root.vehicle") == want, 60, "the deletion at B", (a, b))
        a.sql("DROP PIPE my_pipe1")

        # the other way: B's own data (and what it got from A) back to A
        for statement in seed_001("root.cloud"):
            b.sql(statement)
        _sync(b, a, "root.cloud", "my_pipe2")
        [got] = [r for r in a.rows("SHOW PIPES") if "role=receiver" in str(r[3])]
        assert got[0] == "my_pipe2" and "database=root.cloud" in got[5]

        # B takes no sync-tool sender from 127.0.0.1 any more: A's new pipe is refused
        with b.config_path.open("a") as config:
            config.write('ip_white_list = "10.0.0.0/8"\n')
        b.sql("LOAD CONFIGURATION")
        a.sql("insert into root.vehicle.d1(timestamp,s2) values(1,1.0)")
        host, port = b.url.split(":")
        a.sql(f"CREATE PIPESINK refused_sink AS IoTDB (ip='{host}', port={port}, version='1.0')")
        # CREATE PIPE handshakes at once: the refusal is its answer, with the receiver's words
        with pytest.raises(ServerError) as refused:
            a.sql("CREATE PIPE refused TO refused_sink")
        text = str(refused.value)
        assert (
            "PIPESERVER_ERROR(1108): permission is not allowed: the sender IP <127.0.0.1>" in text
        )
        assert "ip_white_list" in text
        assert [r for r in a.rows("SHOW PIPES") if r[0] == "refused"] == []
    finally:
        for node in (a, b):
            node.stop()
