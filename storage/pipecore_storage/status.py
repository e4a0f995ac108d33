"""Status codes and the status value type of IoTDB's RPC (`TSStatus`), free of generated code.

`TSStatusCode` holds the codes of IoTDB 1.3's `TSStatusCode` that pipecore produces or reacts
to (the numbers are IoTDB's; the names too). `Status` is what handlers return; the facade
(`pipecore.rpc.thrift`) turns it into the wire struct and back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

__all__ = ["Endpoint", "PipeTransferResponse", "Status", "TSStatusCode"]


class TSStatusCode(enum.IntEnum):
    """IoTDB's status codes (`org.apache.iotdb.rpc.TSStatusCode`), the ones pipecore uses."""

    SUCCESS_STATUS = 200
    INCOMPATIBLE_VERSION = 201
    CONFIGURATION_ERROR = 202
    UNSUPPORTED_OPERATION = 300
    EXECUTE_STATEMENT_ERROR = 301
    MULTIPLE_ERROR = 302
    ILLEGAL_PARAMETER = 303
    INTERNAL_SERVER_ERROR = 305
    REDIRECTION_RECOMMEND = 400
    DATABASE_NOT_EXIST = 500
    DATABASE_ALREADY_EXISTS = 501
    TIMESERIES_ALREADY_EXIST = 503
    PATH_NOT_EXIST = 508
    ILLEGAL_PATH = 509
    SYSTEM_READ_ONLY = 600
    WRITE_PROCESS_ERROR = 605
    DISK_SPACE_INSUFFICIENT = 611
    DATA_TYPE_MISMATCH = 614
    SQL_PARSE_ERROR = 700
    SEMANTIC_ERROR = 701
    SET_TIME_ZONE_ERROR = 703
    CLOSE_OPERATION_ERROR = 710
    NO_SUCH_QUERY = 714
    INIT_AUTH_ERROR = 800
    WRONG_LOGIN_PASSWORD = 801
    NOT_LOGIN = 802
    NO_PERMISSION = 803
    USER_NOT_EXIST = 804
    LOAD_FILE_ERROR = 1100
    # the sync tool of IoTDB 1.0/1.1 (its sendFile / sendPipeData / handshake answers)
    SYNC_CONNECTION_ERROR = 1103
    SYNC_FILE_REDIRECTION_ERROR = 1104
    SYNC_FILE_ERROR = 1105
    CREATE_PIPE_SINK_ERROR = 1106
    PIPE_ERROR = 1107
    PIPESERVER_ERROR = 1108
    PIPE_VERSION_ERROR = 1800
    PIPE_TYPE_ERROR = 1801
    PIPE_HANDSHAKE_ERROR = 1802
    PIPE_TRANSFER_FILE_OFFSET_RESET = 1803
    PIPE_TRANSFER_FILE_ERROR = 1804
    PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR = 1805
    PIPE_NOT_EXIST_ERROR = 1806
    PIPE_PUSH_META_ERROR = 1807
    PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION = 1808
    PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION = 1809
    PIPE_RECEIVER_USER_CONFLICT_EXCEPTION = 1810
    PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED = 1811
    PIPE_TRANSFER_SLICE_OUT_OF_ORDER = 1812
    PIPE_RECEIVER_PARALLEL_OR_USER_CONFLICT_EXCEPTION = 1815

    @classmethod
    def name_of(cls, code: int) -> str:
        """IoTDB's name of `code` (``"PIPE_TYPE_ERROR"``), or ``"UNKNOWN(<code>)"``."""
        try:
            return cls(code).name
        except ValueError:
            return f"UNKNOWN({code})"


@attrs.frozen
class Endpoint:
    """A node address (`TEndPoint`): where a client should go instead (redirection)."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def _codes(value: Iterable[Status]) -> tuple[Status, ...]:
    return tuple(value)


@attrs.frozen
class Status:
    """A `TSStatus`: a code, an optional message, sub-statuses, a redirection, a retry hint."""

    code: int
    message: str | None = None
    sub_status: tuple[Status, ...] = attrs.field(default=(), converter=_codes)
    redirect_node: Endpoint | None = None
    need_retry: bool | None = None

    @classmethod
    def ok(cls, message: str | None = None) -> Status:
        return cls(TSStatusCode.SUCCESS_STATUS, message)

    @classmethod
    def of(cls, code: int, message: str | None = None) -> Status:
        return cls(int(code), message)

    @property
    def is_success(self) -> bool:
        """200, or 400 (a redirection recommendation is a success in IoTDB)."""
        return self.code in (TSStatusCode.SUCCESS_STATUS, TSStatusCode.REDIRECTION_RECOMMEND)

    @property
    def code_name(self) -> str:
        return TSStatusCode.name_of(self.code)

    def __str__(self) -> str:
        text = f"{self.code_name}({self.code})"
        return f"{text}: {self.message}" if self.message else text


@attrs.frozen
class PipeTransferResponse:
    """The answer to a ``pipeTransfer``: a status and an optional body (e.g. an i64 offset)."""

    status: Status
    body: bytes | None = None
