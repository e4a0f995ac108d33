"""IoTDB's IoTDBPipePermissionIT (pipe/it/dual/treemodel/manual): a sink logging in as a user
of the receiver writes what that user may; a source running as a user (`user` / `password`)
reads what that user may. Schema auto-creation off. IoTDB's receiver is a 3-node cluster
(schema replication 3, data 2); nothing the test checks depends on that, so one node serves."""

from __future__ import annotations

import time

import pytest
from iotdb_it import (
    assert_data_always,
    assert_data_eventually,
    create_pipe,
    query,
    wait_for_columns,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)


def _wait_for_pipe_row(sender, *parts: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = query(sender, "show pipes")[1]
        if any(all(p in row for p in parts) for row in rows):
            return
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def _receiver_admin(receiver, grant: str) -> None:
    receiver.execute(
        "create user `thulab` 'passwd123456'",
        "create role `admin`",
        "grant role `admin` to `thulab`",
        f"grant {grant} to role `admin`",
    )


@pytest.mark.parametrize("sink", ["iotdb-thrift-sync-sink", "iotdb-thrift-async-sink"])
def test_with_sink(manual_env, sink: str) -> None:
    """testWithSyncSink / testWithAsyncSink: the sink logs in as thulab, whose role may all."""
    sender, receiver = manual_env
    _receiver_admin(receiver, "WRITE, READ, SYSTEM, SECURITY on root.**")
    sender.execute(
        "create user user 'passwd123456'",
        "create timeseries root.ln.wf02.wt01.temperature with datatype=INT64,encoding=PLAIN",
        "create timeseries root.ln.wf02.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf02.wt01(time, temperature, status) values (1800000000000, 23, true)",
        "flush",
    )
    create_pipe(
        sender,
        "testPipe",
        source={"source.inclusion": "all", "user": "root"},
        sink={
            "sink": sink,
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.username": "thulab",
            "sink.password": "passwd123456",
        },
    )
    # IoTDB 2.0.1's LIST USER has the one column User (IoTDB master adds UserId)
    assert_data_eventually(receiver, "list user", "User,", ["root,", "user,", "thulab,"])
    assert_data_eventually(
        receiver,
        "show timeseries root.ln.**",
        SHOW_TIMESERIES,
        [
            "root.ln.wf02.wt01.temperature,null,root.ln,INT64,PLAIN,LZ4,null,null,null,null,BASE,",
            "root.ln.wf02.wt01.status,null,root.ln,BOOLEAN,PLAIN,LZ4,null,null,null,null,BASE,",
        ],
    )
    wait_for_columns(
        receiver,
        "select * from root.ln.**",
        "Time,root.ln.wf02.wt01.temperature,root.ln.wf02.wt01.status,",
        ["1800000000000,23,true,"],
    )


def test_no_permission(manual_env) -> None:
    """testNoPermission: thulab may only read root.ln.**; nothing is written."""
    sender, receiver = manual_env
    _receiver_admin(receiver, "READ on root.ln.**")
    sender.execute(
        "create user someUser 'passwd'",
        "create timeseries root.noPermission.wf02.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "flush",
    )
    create_pipe(
        sender,
        "testPipe",
        source={"source.inclusion": "all", "user": "root"},
        sink={
            "sink": "iotdb-thrift-async-sink",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.username": "thulab",
            "sink.password": "passwd123456",
        },
    )
    assert_data_always(receiver, "show timeseries", SHOW_TIMESERIES, [])
    assert query(receiver, "list user") == ("User,", {"root,", "thulab,"})


def test_source_permission_restart(manual_env) -> None:
    """testSourcePermissionRestart: a source running as thulab, who may read root.**."""
    sender, receiver = manual_env
    sender.execute("create user `thulab` 'passwD@123456'", "grant READ on root.** to user thulab")
    sender.execute(
        "create pipe a2b with source ('user'='thulab', 'password'='passwD@123456') "
        f"with sink ('node-urls'='{receiver.url}')"
    )
    schema = "create aligned timeSeries root.vehicle.plane(temperature DOUBLE, pressure INT32)"
    sender.execute(schema)
    receiver.execute(schema)
    sender.execute(
        "start pipe a2b",
        "insert into root.vehicle.plane(temperature, pressure) values (36.5, 1103)",
    )
    assert_data_eventually(
        receiver,
        "select count(pressure) from root.vehicle.plane",
        "count(root.vehicle.plane.pressure),",
        ["1,"],
    )


def test_source_permission(manual_env) -> None:
    """testSourcePermission: the password checks of CREATE / ALTER PIPE, then what a source
    running as thulab sends as thulab gains privileges (its last step, SHOW PIPES as thulab
    seeing only its own pipe, is not ported: pipecore's pipes have no owner)."""
    sender, receiver = manual_env
    sender.execute("create user `thulab` 'passwD@123456'")
    sink = f"with sink ('node-urls'='{receiver.url}')"
    with pytest.raises(Exception) as caught:
        sender.execute(f"create pipe a2b with source ('user'='thulab') {sink}")
    assert str(caught.value) == (
        "701: Failed to create pipe a2b, in iotdb-source, password must be set when the "
        "username is specified."
    )
    with pytest.raises(Exception) as caught:
        sender.execute(f"create pipe a2b with source ('user'='thulab', 'password'='hack') {sink}")
    # IoTDB's ConfigNode words it "Fail to CREATE_PIPE because Authentication failed." here
    # and "801: Failed to check password for pipe a2b." in testIllegalPassword (the DataNode's
    # check); pipecore has one check, and one message
    assert str(caught.value) == "801: Failed to check password for pipe a2b."
    sender.execute(f"create pipe a2b with source ('inclusion'='all') {sink}")
    with pytest.raises(Exception) as caught:
        sender.execute("alter pipe a2b modify source ('username'='thulab')")
    assert str(caught.value) == (
        "1107: Failed to alter pipe a2b, in iotdb-source, password must be set when the "
        "username is specified."
    )
    sender.execute("alter pipe a2b modify source ('username'='thulab', 'password'='passwD@123456')")
    sender.execute("create database root.test")
    # thulab may read nothing: neither root.test nor root.db goes
    assert_data_always(receiver, "count databases", "count,", ["0,"])
    sender.execute(
        "create database root.db",
        "create timeSeries root.db.device.measurement int32",
        "create aligned timeSeries root.vehicle.plane(temperature DOUBLE, pressure INT32)",
        "insert into root.vehicle.plane(temperature, pressure) values (36.5, 1103)",
        "drop pipe a2b",
        "create pipe a2b with source ('inclusion'='all', 'username'='thulab', "
        f"'password'='passwD@123456') {sink}",
    )
    receiver.execute("create database root.db")
    assert_data_always(
        receiver, "count timeSeries root.db.**", "count(timeseries),", ["0,"], seconds=1.0
    )
    # SYSTEM (MANAGE_DATABASE among it) lets databases go
    sender.execute("grant SYSTEM on root.** to user thulab", "create database root.test1")
    assert_data_eventually(receiver, "count databases root.test1", "count,", ["1,"])
    sender.execute(
        "create timeSeries root.vehicle.car.temperature DOUBLE",
        "insert into root.vehicle.car(temperature) values (36.5)",
    )
    assert_data_always(receiver, "count timeSeries", "count(timeseries),", ["0,"], seconds=1.0)
    receiver.execute("create timeSeries root.vehicle.car.temperature DOUBLE")
    assert_data_always(
        receiver,
        "select count(temperature) from root.vehicle.car",
        "count(root.vehicle.car.temperature),",
        ["0,"],
        seconds=1.0,
    )
    # skipif empty: data thulab may not read stops the pipe instead of being skipped
    sender.execute(
        "alter pipe a2b modify source ('skipif'='')",
        "create timeSeries root.vehicle.car.pressure DOUBLE",
        "insert into root.vehicle.car(pressure) values (36.5)",
    )
    assert_data_always(
        receiver, "count timeSeries root.vehicle.car.pressure", "count(timeseries),", ["0,"]
    )
    _wait_for_pipe_row(sender, "STOPPED", "has no privilege READ_DATA on root.vehicle")
    sender.execute("grant READ on root.** to user thulab", "start pipe a2b")
    assert_data_eventually(
        receiver,
        "select count(pressure) from root.vehicle.car",
        "count(root.vehicle.car.pressure),",
        ["1,"],
    )


def test_illegal_password(manual_env) -> None:
    """testIllegalPassword: a wrong source (or write-back sink) password is refused (801); a
    password changed under a running pipe stops it at the next restart until ALTER PIPE gives
    the new one (the IT's second restart, the same again, is left out)."""
    sender, receiver = manual_env
    sender.execute(
        "create user `thulab` 'ST@ongpasswd123456'",
        "create role `admin`",
        "grant role `admin` to `thulab`",
        "grant WRITE, READ, SYSTEM, SECURITY on root.** to role `admin`",
    )
    with pytest.raises(Exception) as caught:
        sender.execute(
            "create pipe a2b with source ('user'='thulab', 'password'='passwd') "
            f"with sink ('node-urls'='{receiver.url}')"
        )
    assert str(caught.value) == "801: Failed to check password for pipe a2b."
    with pytest.raises(Exception) as caught:
        sender.execute(
            "create pipe a2b ('sink'='write-back-sink', 'user'='thulab', 'password'='passwd')"
        )
    assert str(caught.value) == "801: Failed to check password for pipe a2b."
    schema = "create aligned timeSeries root.vehicle.plane(temperature DOUBLE, pressure INT32)"
    sender.execute(schema)
    receiver.execute(schema)
    insert = "insert into root.vehicle.plane(temperature, pressure) values (36.5, 1103)"
    sender.execute(
        "create pipe a2b with source ('user'='thulab', 'password'='ST@ongpasswd123456') "
        f"with sink ('node-urls'='{receiver.url}')",
        insert,
    )
    count = (
        "select count(pressure) from root.vehicle.plane",
        "count(root.vehicle.plane.pressure),",
    )
    assert_data_eventually(receiver, *count, ["1,"])
    # the password changes: after a restart the pipe's source no longer logs in
    sender.execute("alter user thulab set password 'newST@ongPassword'")
    sender.stop()
    sender.launch().ready()
    sender.execute(insert)
    assert_data_always(receiver, *count, ["1,"])
    with pytest.raises(Exception) as caught:
        sender.execute("alter pipe a2b modify source ('password'='fake')")
    assert str(caught.value) == "801: Failed to check password for pipe a2b."
    sender.execute(
        "alter pipe a2b modify source ('password'='newST@ongPassword')", "alter pipe a2b"
    )
    assert_data_eventually(receiver, *count, ["2,"])
