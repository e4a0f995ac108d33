"""The error of a client call: IoTDB's status code for it, chosen where the failure is found."""

from __future__ import annotations

from pipecore_storage.errors import PipecoreError

__all__ = [
    "ALIGNED_TIMESERIES_ERROR",
    "DATABASE_NOT_EXIST",
    "DATA_TYPE_MISMATCH",
    "EXECUTE_STATEMENT_ERROR",
    "ILLEGAL_PARAMETER",
    "ILLEGAL_PATH",
    "METADATA_ERROR",
    "PATH_NOT_EXIST",
    "ClientCallError",
]

# IoTDB's TSStatusCode values (org.apache.iotdb.rpc.TSStatusCode)
EXECUTE_STATEMENT_ERROR = 301
ILLEGAL_PARAMETER = 303
DATABASE_NOT_EXIST = 500
METADATA_ERROR = 507
PATH_NOT_EXIST = 508
ILLEGAL_PATH = 509
ALIGNED_TIMESERIES_ERROR = 609
DATA_TYPE_MISMATCH = 614


class ClientCallError(PipecoreError, ValueError):
    """A client call refused with IoTDB's `code` (nothing of the call was stored).

    `subject` names what was refused (a path, a template, a request field) when known.
    """

    def __init__(self, code: int, message: str, subject: str | None = None) -> None:
        self.code = int(code)
        self.subject = subject
        super().__init__(message)
