"""A SQL client of a running node (``pipecore sql -h host -p port``): IoTDB's session calls
over the node's Thrift RPC port, results decoded from TsBlocks into the same `DataSet`s an
embedded node returns — so both print the same characters.

    with RemoteSession("127.0.0.1", 6667) as session:
        print(session.run("SHOW PIPES").table().render())

It speaks to a pipecore node and, for the calls it uses, to an IoTDB DataNode as well.
"""

from __future__ import annotations

import ssl
from typing import Any

import numpy as np

from pipecore_storage.errors import PipecoreError
from pipecore_storage.types import TSDataType

from ..rpc import RpcClient
from ..rpc import thrift as t
from ..rpc.tsblock import decode_tsblock
from ..sql.dataset import DataSet
from ..sql.outcome import Outcome
from ..sql.result import SUCCESS_MESSAGE
from ..timeparse import ZoneLike, zone_id

__all__ = ["RemoteSession", "ServerError", "zone_id"]

SUCCESS_CODES = (200, 400)
FETCH_SIZE = 5000


class ServerError(PipecoreError, RuntimeError):
    """The server refused a call: IoTDB's `status_code` and its `reason`."""

    def __init__(self, status_code: int, reason: str) -> None:
        self.status_code = status_code
        self.reason = reason
        super().__init__(f"{status_code}: {reason}")

    def iotdb_message(self) -> str:
        return f"{self.status_code}: {self.reason}"


def _check(status: Any) -> None:
    if status is None:
        raise ServerError(305, "the server answered without a status")
    if status.code not in SUCCESS_CODES:
        raise ServerError(int(status.code), status.message or "")


class RemoteSession:
    """A session with a node's RPC server; `open` logs in, `run` executes one statement."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str = "root",
        password: str = "root",
        *,
        zone: ZoneLike = None,
        timeout: float | None = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.client = RpcClient(host, port, timeout, ssl_context=ssl_context)
        self.user, self.password = user, password
        self.zone_id = zone_id(zone)
        self.session_id: int | None = None
        self.statement_id = 0

    def open(self) -> RemoteSession:
        """Log in; on failure (refused login, no server) the connection is closed again."""
        try:
            return self._open()
        except BaseException:
            self.client.close()
            raise

    def _open(self) -> RemoteSession:
        resp = self.client.call(
            "openSession",
            req=t.TSOpenSessionReq(
                client_protocol=t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3,
                zoneId=self.zone_id,
                username=self.user,
                password=self.password,
                configuration={"version": "V_1_0"},
            ),
        )
        _check(resp.status)
        self.session_id = resp.sessionId
        self.statement_id = self.client.call("requestStatementId", sessionId=self.session_id)
        return self

    def close(self) -> None:
        try:
            if self.session_id is not None:
                self.client.call("closeSession", req=t.TSCloseSessionReq(self.session_id))
        except PipecoreError:
            pass
        finally:
            self.session_id = None
            self.client.close()

    def __enter__(self) -> RemoteSession:
        return self.open() if self.session_id is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, statement: str) -> Outcome:
        """Execute one statement; raises `ServerError` with the server's status."""
        if self.session_id is None:
            self.open()
        req = t.TSExecuteStatementReq(self.session_id, statement, self.statement_id, FETCH_SIZE)
        resp = self.client.call("executeStatementV2", req=req)
        _check(resp.status)
        if not resp.columns:
            return Outcome((resp.status.message if resp.status else None) or SUCCESS_MESSAGE)
        return Outcome(data=self._data(resp))

    def _data(self, resp: Any) -> DataSet:
        blocks = list(resp.queryResult or [])
        more = bool(resp.moreData)
        while more:
            fetched = self.client.call(
                "fetchResultsV2",
                req=t.TSFetchResultsReq(self.session_id, "", FETCH_SIZE, resp.queryId, True, 0),
            )
            _check(fetched.status)
            blocks += list(fetched.queryResult or [])
            more = bool(fetched.moreData) and bool(fetched.queryResult)
        if resp.queryId is not None:
            req = t.TSCloseOperationReq(self.session_id, resp.queryId, self.statement_id)
            self.client.call("closeOperation", req=req)
        types = [TSDataType[name] for name in resp.dataTypeList]
        return _concat(list(resp.columns), types, blocks, not resp.ignoreTimeStamp)


def _concat(columns: list[str], types: list[TSDataType], blocks: list[bytes], timed: bool):
    decoded = [decode_tsblock(b, types) for b in blocks]
    if not decoded:
        empty = [np.empty(0, dtype=d.numpy_dtype) for d in types]
        return DataSet(
            columns, types, empty, [None] * len(types), np.empty(0, np.int64) if timed else None
        )
    times = np.concatenate([d[0] for d in decoded])
    values: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for i, data_type in enumerate(types):
        values.append(
            np.concatenate([np.asarray(d[2][i], dtype=data_type.numpy_dtype) for d in decoded])
        )
        parts = [d[3][i] for d in decoded]
        if all(p is None for p in parts):
            masks.append(None)
        else:
            masks.append(
                np.concatenate(
                    [
                        np.zeros(len(d[0]), bool) if p is None else p
                        for d, p in zip(decoded, parts, strict=True)
                    ]
                )
            )
    return DataSet(columns, types, values, masks, times if timed else None)
