"""SQL over the node's RPC port: the session handler behind ``pipecore sql -h`` and
IoTDB's own clients (`iotdb.Session` of apache-iotdb).

One `SqlSessionHandler` per connection (the RPC server makes it). ``openSession`` checks the
user (IoTDB's default superuser ``root`` / ``root``) and answers protocol V3 with
``timestamp_precision``; every ``execute*StatementV2`` runs one statement with
`Node.run` in the session's time zone. A statement that returns rows answers with its columns,
their IoTDB data type names and the rows as TsBlocks (`pipecore.rpc.tsblock`) — at most
``fetchSize`` rows at once; the rest is fetched with ``fetchResultsV2`` until
``moreData`` is false. SHOW results have no time column (``ignoreTimeStamp``); a failed
statement answers its status code and message (700 syntax, 701 semantic, 1107 pipe errors,
...), as IoTDB does.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import TYPE_CHECKING, Any

import attrs

from ..parameters import mask_secrets
from ..rpc import SessionHandler
from ..rpc import thrift as t
from ..rpc.tsblock import encode_tsblock
from .client import zone_id
from .dataset import DataSet
from .errors import SqlError
from .executor import status_code_of
from .result import SUCCESS_MESSAGE
from .timeparse import resolve_zone

if TYPE_CHECKING:
    from ..node import Node
    from ..rpc import ConnectionContext

__all__ = ["SqlSessionHandler"]

log = logging.getLogger(__name__)

SUCCESS = 200
NOT_LOGIN = 802
SET_TIME_ZONE_ERROR = 703
NO_SUCH_QUERY = 714
DEFAULT_FETCH_SIZE = 5000

_session_ids = itertools.count(1)


@attrs.define
class _Cursor:
    data: DataSet
    position: int = 0


def _status(code: int, message: str | None = None) -> Any:
    return t.TSStatus(code=code, message=message)


def _error_status(exc: BaseException) -> Any:
    if isinstance(exc, SqlError):
        code, _, message = exc.iotdb_message().partition(": ")
        return _status(int(code), message)
    return _status(status_code_of(exc), f"{type(exc).__name__}: {exc}")


class SqlSessionHandler(SessionHandler):
    """Runs the SQL of one client connection on `node`."""

    def __init__(self, context: ConnectionContext, node: Node) -> None:
        super().__init__(context)
        self.node = node
        self.session_id: int | None = None
        self.zone: str | None = None
        self._statement_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._cursors: dict[int, _Cursor] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ session
    def openSession(self, req: Any) -> Any:
        version = t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3
        login = self.node.users.check(req.username or "", req.password or "")
        if not login.is_success:
            return t.TSOpenSessionResp(
                status=_status(int(login.code), login.message), serverProtocolVersion=version
            )
        zone_error = self._set_zone(req.zoneId)
        if zone_error is not None:
            return t.TSOpenSessionResp(status=zone_error, serverProtocolVersion=version)
        self.session_id = next(_session_ids)
        precision = self.node.config.node.timestamp_precision
        log.info("session %d opened by %s@%s", self.session_id, req.username, self.context.remote)
        return t.TSOpenSessionResp(
            status=_status(SUCCESS),
            serverProtocolVersion=version,
            sessionId=self.session_id,
            configuration={"timestamp_precision": precision},
        )

    def _set_zone(self, zone: str | None) -> Any:
        if not zone:
            return None
        try:
            resolve_zone(zone)
        except ValueError as exc:
            return _status(SET_TIME_ZONE_ERROR, str(exc))
        self.zone = zone
        return None

    def _check(self, session_id: int | None) -> Any:
        """NOT_LOGIN unless this connection opened a session. Like IoTDB, the session is the
        connection's: the id in a request is not compared (IoTDB's Python client sends its
        statement id there when it fetches more rows)."""
        if self.session_id is None:
            return _status(
                NOT_LOGIN,
                "Log in failed. Either you are not authorized or the session has timed out.",
            )
        return None

    def closeSession(self, req: Any) -> Any:
        self.session_id = None
        with self._lock:
            self._cursors.clear()
        return _status(SUCCESS)

    def requestStatementId(self, session_id: int) -> int:
        return next(self._statement_ids)

    def getTimeZone(self, session_id: int) -> Any:
        return t.TSGetTimeZoneResp(_status(SUCCESS), self.zone or zone_id(None))

    def setTimeZone(self, req: Any) -> Any:
        return self._check(req.sessionId) or self._set_zone(req.timeZone) or _status(SUCCESS)

    # ------------------------------------------------------------ statements
    def executeStatementV2(self, req: Any) -> Any:
        return self._execute(req)

    def executeQueryStatementV2(self, req: Any) -> Any:
        return self._execute(req)

    def executeUpdateStatementV2(self, req: Any) -> Any:
        return self._execute(req)

    def executeStatement(self, req: Any) -> Any:
        return self._execute(req)

    def executeQueryStatement(self, req: Any) -> Any:
        return self._execute(req)

    def executeUpdateStatement(self, req: Any) -> Any:
        return self._execute(req)

    def _execute(self, req: Any) -> Any:
        refused = self._check(req.sessionId)
        if refused is not None:
            return t.TSExecuteStatementResp(status=refused)
        try:
            outcome = self.node.run(req.statement or "", zone=self.zone)
        except Exception as exc:
            if not isinstance(exc, SqlError):
                log.exception("statement %r failed", mask_secrets(req.statement or ""))
            return t.TSExecuteStatementResp(status=_error_status(exc))
        if outcome.data is None:
            return t.TSExecuteStatementResp(status=_status(SUCCESS, outcome.message))
        query_id = next(self._query_ids)
        data = outcome.data
        blocks, more = self._page(query_id, data, 0, req.fetchSize)
        return t.TSExecuteStatementResp(
            status=_status(SUCCESS, SUCCESS_MESSAGE),
            queryId=query_id,
            columns=list(data.columns),
            dataTypeList=[d.name for d in data.data_types],
            ignoreTimeStamp=not data.has_time,
            queryResult=blocks,
            moreData=more,
        )

    def _page(self, query_id: int, data: DataSet, start: int, fetch_size: int | None):
        """TsBlocks of rows [start, start + fetch size); keeps a cursor while rows remain."""
        size = fetch_size if fetch_size and fetch_size > 0 else DEFAULT_FETCH_SIZE
        stop = min(len(data), start + size)
        part = data.slice(start, stop)
        blocks = [encode_tsblock(part.timestamps, part.data_types, part.values, part.null_masks)]
        more = stop < len(data)
        with self._lock:
            if more:
                self._cursors[query_id] = _Cursor(data, stop)
            else:
                self._cursors.pop(query_id, None)
        return blocks, more

    def fetchResultsV2(self, req: Any) -> Any:
        refused = self._check(req.sessionId)
        if refused is not None:
            return t.TSFetchResultsResp(status=refused, hasResultSet=False)
        with self._lock:
            cursor = self._cursors.get(req.queryId)
        if cursor is None:
            return t.TSFetchResultsResp(
                status=_status(SUCCESS), hasResultSet=False, isAlign=True, moreData=False
            )
        blocks, more = self._page(req.queryId, cursor.data, cursor.position, req.fetchSize)
        return t.TSFetchResultsResp(
            status=_status(SUCCESS),
            hasResultSet=True,
            isAlign=True,
            queryResult=blocks,
            moreData=more,
        )

    def closeOperation(self, req: Any) -> Any:
        with self._lock:
            if req.queryId is not None:
                self._cursors.pop(req.queryId, None)
        return _status(SUCCESS)

    def cancelOperation(self, req: Any) -> Any:
        return self.closeOperation(req)

    def close(self) -> None:
        with self._lock:
            self._cursors.clear()
