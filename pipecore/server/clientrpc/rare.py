"""The client calls IoTDB keeps for old or administrative clients, answered as IoTDB 2.0.1-beta
answers them (each checked against a real 2.0.1-beta DataNode, tests/clients/java/
GroupByIntervalCheck.java):

==================================  ==========================================================
call                                IoTDB 2.0.1-beta's answer, and pipecore's
==================================  ==========================================================
fetchMetadata                       UNSUPPORTED_OPERATION (300) "Fetch Metadata is not
                                    supported." (the JDBC driver's getMetadataInJson gets it)
getBackupConfiguration              SUCCESS (200), no other field (the old dual-write backup
                                    is gone); the Java Session's getBackupConfiguration
fetchAllConnectionsInfo             one TSConnectionInfo per open session of the node: user,
                                    login time (epoch ms), the client's ip:port, THRIFT_BASED;
                                    the Java Session's fetchAllConnections
executeGroupByQueryIntervalQuery    one series aggregated per time window (`groupby`)
==================================  ==========================================================

Where pipecore differs, on purpose: IoTDB answers fetchAllConnectionsInfo and
executeGroupByQueryIntervalQuery on a connection that never logged in (it skips the login
check for both); pipecore answers the first with an empty list and the second with NOT_LOGIN
(IoTDB's status of every other call without a session), so that who is connected and the data
stay behind the login.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from ...rpc import thrift as t
from .groupby import group_by_interval

__all__ = ["RareCalls", "open_sessions"]

SUCCESS = 200
UNSUPPORTED_OPERATION = 300

_lock = threading.Lock()
# node -> {handler id: (user, login time ms, client ip:port)}, in login order
_sessions: weakref.WeakKeyDictionary[Any, dict[int, tuple[str, int, str]]] = (
    weakref.WeakKeyDictionary()
)


def open_sessions(node: Any) -> list[tuple[str, int, str]]:
    """(user, login time in epoch ms, client ip:port) of every open session of `node`."""
    with _lock:
        return list(_sessions.get(node, {}).values())


class RareCalls:
    """The calls above, as a mixin of `ClientSessionHandler` (which supplies node, context,
    session_id, username and the login check `_check`)."""

    node: Any
    context: Any
    session_id: int | None
    username: str | None

    # ------------------------------------------------------------ session registry
    def openSession(self, req: Any) -> Any:
        resp = super().openSession(req)  # type: ignore[misc]
        if self.session_id is not None and resp.status.code == SUCCESS:
            with _lock:
                _sessions.setdefault(self.node, {})[id(self)] = (
                    self.username or "",
                    int(time.time() * 1000),
                    self.context.remote,
                )
        return resp

    def _forget(self) -> None:
        with _lock:
            _sessions.get(self.node, {}).pop(id(self), None)

    def closeSession(self, req: Any) -> Any:
        self._forget()
        return super().closeSession(req)  # type: ignore[misc]

    def close(self) -> None:
        self._forget()
        super().close()  # type: ignore[misc]

    # ------------------------------------------------------------ the calls
    def fetchMetadata(self, req: Any) -> Any:
        return t.TSFetchMetadataResp(
            status=t.TSStatus(
                code=UNSUPPORTED_OPERATION, message="Fetch Metadata is not supported."
            )
        )

    def getBackupConfiguration(self) -> Any:
        return t.TSBackupConfigurationResp(status=t.TSStatus(code=SUCCESS))

    def fetchAllConnectionsInfo(self) -> Any:
        if self.session_id is None:
            return t.TSConnectionInfoResp(connectionInfoList=[])
        return t.TSConnectionInfoResp(
            connectionInfoList=[
                t.TSConnectionInfo(
                    userName=user,
                    logInTime=login_ms,
                    connectionId=remote,
                    type=t.TSConnectionType.THRIFT_BASED,
                )
                for user, login_ms, remote in open_sessions(self.node)
            ]
        )

    def executeGroupByQueryIntervalQuery(self, req: Any) -> Any:
        refused = self._check(None)  # type: ignore[attr-defined]
        if refused is not None:
            return t.TSExecuteStatementResp(status=refused)
        return group_by_interval(self.node.store, req)
