"""The session side of the RPC service: what a node implements so clients can run SQL.

The server creates one `SessionHandler` per connection (through the factory registered with
`RpcServer.register_session_handler`), calls its methods by their IoTDB names with the
request structs of `pipecore.rpc.thrift`, and calls `close()` when the connection ends —
IoTDB binds a session to its connection the same way.

Only the methods a subclass defines are served; any other call of the service (those of
`pipecore.rpc.thrift.METHODS`, say ``insertTablet``) is answered with UNSUPPORTED_OPERATION
(300) in the method's response struct. A method that raises is answered with
INTERNAL_SERVER_ERROR (305) and logged; it does not close the connection.

The methods the official Python client (`iotdb.Session`, apache-iotdb 2.0.x) uses to run SQL:

=========================  ======================================  ===========================
method                     argument                                returns
=========================  ======================================  ===========================
openSession                TSOpenSessionReq                        TSOpenSessionResp
requestStatementId         sessionId: int                          int
getTimeZone / setTimeZone  sessionId: int / TSSetTimeZoneReq       TSGetTimeZoneResp / TSStatus
executeStatementV2         TSExecuteStatementReq                   TSExecuteStatementResp
executeQueryStatementV2    TSExecuteStatementReq                   TSExecuteStatementResp
executeUpdateStatementV2   TSExecuteStatementReq                   TSExecuteStatementResp
fetchResultsV2             TSFetchResultsReq                       TSFetchResultsResp
closeOperation             TSCloseOperationReq                     TSStatus
closeSession               TSCloseSessionReq                       TSStatus
=========================  ======================================  ===========================

`openSession` must answer ``serverProtocolVersion = IOTDB_SERVICE_PROTOCOL_V3`` (the Python
client logs an error otherwise) and may put ``timestamp_precision`` in ``configuration``.
Query results travel in ``queryResult`` as IoTDB TsBlocks (V2 calls) — encoding them is the
handler's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import ConnectionContext

__all__ = ["SessionHandler"]


class SessionHandler:
    """Base class of a per-connection session handler; subclass and define IoTDB's methods.

    `context` describes the connection (remote address, TLS, ...).
    """

    def __init__(self, context: ConnectionContext) -> None:
        self.context = context

    def close(self) -> None:
        """The connection ended (client closed it, it broke, or the server stops)."""
