"""The official Python client (`iotdb.Session`, apache-iotdb) against our server."""

from __future__ import annotations

import pytest

from pipecore.rpc import RpcClient, RpcServer, SessionHandler
from pipecore.rpc import thrift as t


class RecordingSession(SessionHandler):
    """A minimal session handler: records what the client does, answers like IoTDB."""

    log: list[tuple[str, object]]

    def openSession(self, req):
        self.log.append(("open", (req.username, req.password, req.zoneId)))
        if req.password != "root":
            return t.TSOpenSessionResp(
                status=t.TSStatus(code=801, message="Authentication failed."),
                serverProtocolVersion=t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3,
            )
        return t.TSOpenSessionResp(
            status=t.TSStatus(code=200),
            serverProtocolVersion=t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3,
            sessionId=42,
            configuration={"timestamp_precision": "ms"},
        )

    def requestStatementId(self, session_id):
        assert session_id == 42
        return 7

    def setTimeZone(self, req):
        self.log.append(("zone", req.timeZone))
        return t.TSStatus(code=200)

    def getTimeZone(self, session_id):
        return t.TSGetTimeZoneResp(t.TSStatus(code=200), "UTC")

    def executeUpdateStatementV2(self, req):
        self.log.append(("update", req.statement))
        if "bad" in req.statement:
            return t.TSExecuteStatementResp(status=t.TSStatus(code=700, message="parse error"))
        return t.TSExecuteStatementResp(status=t.TSStatus(code=200))

    def executeQueryStatementV2(self, req):
        self.log.append(("query", req.statement))
        return t.TSExecuteStatementResp(
            status=t.TSStatus(code=200),
            queryId=1,
            columns=["root.sg.d1.s1"],
            dataTypeList=["INT64"],
            ignoreTimeStamp=False,
            queryResult=[],
            moreData=False,
        )

    def closeOperation(self, req):
        self.log.append(("closeOperation", req.queryId))
        return t.TSStatus(code=200)

    def closeSession(self, req):
        self.log.append(("closeSession", req.sessionId))
        return t.TSStatus(code=200)

    def close(self):
        self.log.append(("connection closed", None))


@pytest.fixture
def server():
    log: list = []

    def factory(context):
        handler = RecordingSession(context)
        handler.log = log
        return handler

    with RpcServer("127.0.0.1", 0) as srv:
        srv.register_session_handler(factory)
        srv.log = log
        yield srv


def test_official_session_opens_runs_statements_and_closes(server):
    from iotdb.Session import Session

    host, port = server.address
    session = Session(host, port, "root", "root", zone_id="Asia/Shanghai")
    session.open(False)
    session.execute_non_query_statement("CREATE DATABASE root.sg")
    data_set = session.execute_query_statement("SELECT s1 FROM root.sg.d1")
    assert data_set.get_column_names() == ["Time", "root.sg.d1.s1"]
    assert not data_set.has_next()
    data_set.close_operation_handle()
    session.close()
    log = server.log
    assert log[0] == ("open", ("root", "root", "Asia/Shanghai"))
    assert ("zone", "Asia/Shanghai") in log
    assert ("update", "CREATE DATABASE root.sg") in log
    assert ("query", "SELECT s1 FROM root.sg.d1") in log
    assert ("closeOperation", 1) in log
    assert ("closeSession", 42) in log


def test_official_session_sees_our_error_statuses(server):
    from iotdb.Session import Session
    from iotdb.utils.exception import IoTDBConnectionException, StatementExecutionException

    host, port = server.address
    session = Session(host, port, "root", "root", zone_id="UTC")
    session.open(False)
    with pytest.raises(StatementExecutionException, match="700"):
        session.execute_non_query_statement("bad statement")
    session.close()
    wrong = Session(host, port, "root", "nope", zone_id="UTC")
    with pytest.raises((StatementExecutionException, IoTDBConnectionException), match="801"):
        wrong.open(False)


def test_methods_a_handler_lacks_answer_unsupported_operation(server):
    with RpcClient(*server.address, timeout=5) as c:
        status = c.call(
            "insertStringRecord",
            req=t.TSInsertStringRecordReq(42, "root.sg.d1", ["s1"], ["1"], 1),
        )
        assert status.code == 300 and "insertStringRecord" in status.message
        resp = c.call("fetchResultsV2", req=t.TSFetchResultsReq(42, "select", 10, 1, True))
        assert resp.status.code == 300 and resp.hasResultSet is False


def test_handler_exception_is_an_internal_error_status(server):
    with RpcClient(*server.address, timeout=5) as c:
        # requestStatementId asserts session 42; another id makes the handler raise, and an i64
        # result has no status to carry: the reply is a Thrift application exception
        from pipecore.rpc import RpcApplicationError

        with pytest.raises(RpcApplicationError, match="requestStatementId"):
            c.call("requestStatementId", sessionId=1)
        assert c.call("requestStatementId", sessionId=42) == 7


def test_no_session_handler_refuses_sessions_clearly():
    with RpcServer("127.0.0.1", 0) as srv, RpcClient(*srv.address, timeout=5) as c:
        resp = c.call("openSession", req=t.TSOpenSessionReq(zoneId="UTC", username="root"))
        assert resp.status.code == 300 and "no client sessions" in resp.status.message
        assert resp.serverProtocolVersion == t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3


def test_the_connection_close_reaches_the_handler(server):
    with RpcClient(*server.address, timeout=5) as c:
        c.call("getTimeZone", sessionId=42)
    import time

    deadline = time.monotonic() + 5
    while ("connection closed", None) not in server.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ("connection closed", None) in server.log
