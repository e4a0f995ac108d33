"""The four client calls pipecore answered with UNKNOWN_METHOD before: `fetchMetadata`,
`getBackupConfiguration`, `fetchAllConnectionsInfo` (through the official Python client's
generated classes) and `executeGroupByQueryIntervalQuery` (which apache-iotdb for Python no
longer has: through IoTDB's Java client 2.0.5, java/GroupByIntervalCheck.java).

The expected answers are IoTDB 2.0.1-beta's, recorded from a real DataNode
(tests/interop/iotdb_server.py) holding the same data, with the same Java program: every field
of every answer, the value bytes included, must be the same (the session id inside an error
message aside).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from iotdb.thrift.rpc.IClientRPCService import Client
from iotdb.thrift.rpc.ttypes import TSConnectionType, TSFetchMetadataReq, TSOpenSessionReq
from test_client_java import java_classpath  # noqa: F401 - the fixture: jars + compiled check
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

JAVA_DIR = Path(__file__).parent / "java"


def _client(port: int, login: bool = True):
    transport = TTransport.TFramedTransport(TSocket.TSocket("127.0.0.1", port))
    transport.open()
    client = Client(TBinaryProtocol.TBinaryProtocolAccelerated(transport))
    session_id = None
    if login:
        opened = client.openSession(
            TSOpenSessionReq(client_protocol=2, zoneId="UTC", username="root", password="root")
        )
        assert opened.status.code == 200
        session_id = opened.sessionId
    return client, session_id, transport


def test_fetch_metadata_is_not_supported_as_in_iotdb(server):
    for login in (True, False):
        client, sid, transport = _client(server.port, login)
        try:
            resp = client.fetchMetadata(TSFetchMetadataReq(sid or 0, "METADATA_IN_JSON"))
            assert (resp.status.code, resp.status.message) == (
                300,
                "Fetch Metadata is not supported.",
            )
            assert resp.metadataInJson is None and resp.columnsList is None
        finally:
            transport.close()


def test_backup_configuration_is_success_and_nothing_else(server):
    client, _, transport = _client(server.port, login=False)
    try:
        resp = client.getBackupConfiguration()
        assert resp.status.code == 200 and resp.status.message is None
        assert (resp.enableOperationSync, resp.secondaryAddress, resp.secondaryPort) == (
            None,
            None,
            None,
        )
    finally:
        transport.close()


def test_all_connections_lists_every_open_session(server):
    before = time.time() * 1000
    first, _, t1 = _client(server.port)
    _second, _, t2 = _client(server.port)
    anonymous, _, t3 = _client(server.port, login=False)
    try:
        listed = first.fetchAllConnectionsInfo().connectionInfoList
        mine = [c for c in listed if c.logInTime >= before - 1]
        assert len(mine) == 2  # both sessions, not the connection that never logged in
        for info in mine:
            assert info.userName == "root" and info.type == TSConnectionType.THRIFT_BASED
            assert re.fullmatch(r"127\.0\.0\.1:\d+", info.connectionId)
            assert info.logInTime <= time.time() * 1000 + 1
        assert len({c.connectionId for c in mine}) == 2
        # without a session: nothing (IoTDB lists them anyway; pipecore keeps them private)
        assert anonymous.fetchAllConnectionsInfo().connectionInfoList == []
        t2.close()  # a connection that ends leaves the list
        deadline = time.monotonic() + 10
        while len([c for c in first.fetchAllConnectionsInfo().connectionInfoList
                   if c.logInTime >= before - 1]) != 1:  # fmt: skip
            assert time.monotonic() < deadline, "the closed session is still listed"
            time.sleep(0.05)
    finally:
        for t in (t1, t2, t3):
            t.close()


# ---------------------------------------------------------------- executeGroupByQueryIntervalQuery
SETUP = [
    "create database root.g",
    "create timeseries root.g.d.s with datatype=DOUBLE",
    "create aligned timeseries root.g.a(x INT32, y TEXT)",
    "insert into root.g.d(time, s) values (1, 1.5), (2, 2.5), (5, 5.5), (11, 11.0)",
    "insert into root.g.a(time, x, y) aligned values (1, 10, 'a'), (3, 30, 'b'), (12, 120, 'c')",
    "flush",
    "insert into root.g.a(time, x, y) aligned values (4, 40, 'd')",
]

_T4 = "00000000000000000000000000000005000000000000000a000000000000000f"  # 0, 5, 10, 15
_REGION = (
    'Cannot invoke "org.apache.iotdb.common.rpc.thrift.TConsensusGroupId.getId()" because the '
    'return value of "org.apache.iotdb.common.rpc.thrift.TRegionReplicaSet.getRegionId()" is null'
)
_BOOT = "module java.base of loader 'bootstrap'"
_BINARY = "[Lorg.apache.tsfile.utils.Binary;"

# query (device,measurement,dataType,aggregation,start,end,interval[,database]) -> IoTDB
# 2.0.1-beta's answer: (columns, dataTypes, time, values, bitmaps) or the error's detail
RECORDED: dict[str, tuple[str, str, str, str, str] | str] = {
    "root.g.d,s,4,COUNT,0,20,5": 'Cannot load from object array because "splits" is null',
    "root.g.d,s,4,COUNT,0,20,5,root.g": ("COUNT", "DOUBLE", _T4, "0" * 64, "f0"),
    "root.g.d,s,4,SUM,0,20,5,root.g": ("SUM", "DOUBLE", _T4, "", "00"),
    "root.g.a,x,1,COUNT,0,20,5,root.g": (
        "COUNT", "INT32", _T4, "0000000000000003" + "0" * 16 + "0000000000000001" + "0" * 16,
        "f0"),
    "root.g.a,x,1,SUM,0,20,5,root.g": ("SUM", "INT32", _T4, "4054000000000000405e000000000000",
                                       "a0"),
    "root.g.a,x,1,FIRST_VALUE,0,20,5,root.g": ("FIRST_VALUE", "INT32", _T4, "0000000a00000078",
                                               "a0"),
    "root.g.a,y,5,LAST_VALUE,0,20,5,root.g": ("LAST_VALUE", "TEXT", _T4, "00000001640000000163",
                                              "a0"),
    "root.g.a,y,5,COUNT,0,20,5,root.g": (
        "COUNT", "TEXT", _T4, "0000000000000003" + "0" * 16 + "0000000000000001" + "0" * 16,
        "f0"),
    "root.g.a,x,1,MAX_TIME,0,20,5,root.g": ("MAX_TIME", "INT32", _T4,
                                            "0000000000000004000000000000000c", "a0"),
    "root.g.a,x,1,MIN_TIME,0,20,5,root.g": ("MIN_TIME", "INT32", _T4,
                                            "0000000000000001000000000000000c", "a0"),
    "root.g.a,x,1,EXTREME,0,20,5,root.g": ("EXTREME", "INT32", _T4, "0000002800000078", "a0"),
    "root.g.nope,x,1,COUNT,0,20,5,root.g": _REGION,
    "root.g.a,nope,1,COUNT,0,20,5,root.g": ("COUNT", "INT32", _T4, "0" * 64, "f0"),
    "root.g.a,x,1,COUNT,0,20,0,root.g": "java.lang.IllegalArgumentException: min:0 should not "
    "be larger than max: -1",
    "root.g.a,x,1,COUNT,20,0,5,root.g": "java.lang.IllegalArgumentException: min:20 should not "
    "be larger than max: 0",
    "root.g.a,x,1,COUNT,0,20,30,root.g": ("COUNT", "INT32", "0" * 16, "0000000000000004", "80"),
    "root.g.a,x,3,COUNT,0,20,5,root.g": "java.lang.ClassCastException: class [I cannot be cast "
    f"to class [F ([I and [F are in {_BOOT})",
    "root.g.a,x,1,STDDEV,0,20,5,root.g": ("STDDEV", "INT32", _T4, "402e8ceddf2332de", "80"),
    "root.g.a,x,1,COUNT,0,0,5,root.g": "java.lang.IllegalArgumentException: min:0 should not be "
    "larger than max: -1",
    "root.g.a,x,1,COUNT,0,7,5,root.g": ("COUNT", "INT32", "0" * 16 + "0000000000000005",
                                        "0000000000000003" + "0" * 16, "c0"),
    "root.g.a,x,1,COUNT,-10,20,5,root.g": _REGION,
    "root.g.a,x,1,MAX_BY,0,20,5,root.g": "Wrong inputDataTypes size.",
    "root.g.a,x,1,MODE,0,20,5,root.g": ("MODE", "INT32", _T4, "0000000a00000078", "a0"),
    "root.g.a,x,1,VARIANCE,0,20,5,root.g": ("VARIANCE", "INT32", _T4, "406d2aaaaaaaaaaa", "80"),
    "root.g.a,x,1,TIME_DURATION,0,20,5,root.g": ("TIME_DURATION", "INT32", _T4,
                                                 "0000000000000003" + "0" * 16, "a0"),
    "root.g.a,x,1,COUNT,0,20,5,root.other": _REGION,
    "root.g.a,y,5,SUM,0,20,5,root.g": "org.apache.tsfile.write.UnSupportedDataTypeException: "
    "Unsupported dataType: Unsupported data type in aggregation AVG : TEXT",
    "root.g.a,y,1,COUNT,0,20,5,root.g": f"java.lang.ClassCastException: class {_BINARY} cannot "
    f"be cast to class [I ({_BINARY} is in unnamed module of loader 'app'; [I is in {_BOOT})",
    "root.g.a,y,5,MAX_VALUE,0,20,5,root.g": "org.apache.tsfile.write.UnSupportedDataTypeException"
    ": Unsupported dataType: Unsupported data type in MaxValue: TEXT",
    "root.g.a,y,5,MODE,0,20,5,root.g": ("MODE", "TEXT", _T4, "00000001610000000163", "a0"),
    "root.g.a,x,5,COUNT,0,20,5,root.g": f"java.lang.ClassCastException: class [I cannot be cast "
    f"to class {_BINARY} ([I is in {_BOOT}; {_BINARY} is in unnamed module of loader 'app')",
    "root.g.a,x,1,STDDEV_POP,0,20,5,root.g": ("STDDEV_POP", "INT32", _T4,
                                              "4028f1c30e818a120000000000000000", "a0"),
    "root.g.a,x,1,COUNT_TIME,0,20,5,root.g": (
        "COUNT_TIME", "INT32", _T4,
        "0000000000000003" + "0" * 16 + "0000000000000001" + "0" * 16, "f0"),
    "root.g.a,x,1,UDAF,0,20,5,root.g": 'Cannot invoke "java.util.List.stream()" because '
    '"childrenExpressions" is null',
    "root.g.a,x,1,FIRST,0,20,5,root.g": "Invalid Aggregation function: FIRST",
}  # fmt: skip


def _fields(line: str) -> dict[str, str]:
    kind, *parts = line.split("\t")
    return {"kind": kind, **dict(p.split("=", 1) for p in parts)}


def _run_check(classpath: str, port: int, mode: str, queries: list[str]) -> list[dict[str, str]]:
    run = subprocess.run(
        ["java", "-cp", classpath, "GroupByIntervalCheck", "127.0.0.1", str(port), mode,
         *queries],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return [_fields(line) for line in run.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def group_by_classpath(java_classpath: str, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    classes = tmp_path_factory.mktemp("groupby-classes")
    javac = subprocess.run(
        ["javac", "-encoding", "UTF-8", "-cp", java_classpath, "-d", str(classes),
         str(JAVA_DIR / "GroupByIntervalCheck.java")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert javac.returncode == 0, javac.stdout + javac.stderr
    return f"{classes}{os.pathsep}{java_classpath}"


def test_group_by_interval_answers_as_iotdb_2_0_1(server, group_by_classpath):
    session = server.session()
    for sql in SETUP:
        session.execute_non_query_statement(sql)
    session.close()
    lines = _run_check(group_by_classpath, server.port, "login", list(RECORDED))
    # the Java client's own calls of the other three work too (the Session wrappers use them)
    head = {f["kind"]: f for f in lines if f["kind"] != "groupby"}
    assert head["backup"]["code"] == "200" and head["metadata"]["code"] == "300"
    assert int(head["connections"]["count"]) >= 1
    answers = [f for f in lines if f["kind"] == "groupby"]
    assert [a["query"] for a in answers] == list(RECORDED)
    for answer in answers:
        want = RECORDED[answer["query"]]
        if isinstance(want, str):
            message = re.sub(r"sessionId:-?\d+", "sessionId:S", answer["message"])
            request = _request_text(answer["query"])
            assert answer["code"] == "305", answer
            assert message == (
                f'[INTERNAL_SERVER_ERROR(305)] Exception occurred: "{request}". '
                f"executeAggregationQuery failed. {want}"
            ), answer["query"]
            assert answer["queryDataSet"] == "unset"
            continue
        column, data_type, times, values, bitmaps = want
        got = (answer["code"], answer["queryId"], answer["columns"], answer["dataTypes"],
               answer["ignoreTimeStamp"], answer["columnNameIndexMap"], answer["time"],
               answer["values"], answer["bitmaps"])  # fmt: skip
        assert got == ("200", "1", f"[{column}]", f"[{data_type}]", "false", f"{{{column}=0}}",
                       times, f"[{values}]", f"[{bitmaps}]"), answer["query"]  # fmt: skip


def _request_text(query: str) -> str:
    device, measurement, data_type, aggregation, start, end, interval, *database = query.split(",")
    db = f"database:{database[0]}, " if database else ""
    return (
        f"TSGroupByQueryIntervalReq(sessionId:S, statementId:0, device:{device}, "
        f"measurement:{measurement}, dataType:{data_type}, aggregationType:{aggregation}, "
        f"{db}startTime:{start}, endTime:{end}, interval:{interval})"
    )


def test_group_by_interval_needs_a_session(server, group_by_classpath):
    """IoTDB 2.0.1-beta answers this call without a login; pipecore wants one (NOT_LOGIN)."""
    (answer,) = [
        f
        for f in _run_check(
            group_by_classpath, server.port, "nologin", ["root.g.a,x,1,COUNT,0,20,5,root.g"]
        )
        if f["kind"] == "groupby"
    ]
    assert answer["code"] == "802" and answer["queryDataSet"] == "unset"
