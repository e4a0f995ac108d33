"""Errors of the thrift sink. Each names the receiver (``host:port``) and, when it answered,
its status (code, IoTDB's name, message)."""

from __future__ import annotations

from pipecore import PipeConnectionError, PipeError
from pipecore.rpc import Status

__all__ = ["ReceiverRefusedError", "ReceiverStatusError", "SinkClosedError"]


class ReceiverRefusedError(PipeError, PermissionError):
    """The receiver answered the handshake with a refusal: wrong password, unknown user, a
    sender outside its ``ip_white_list``, the same cluster id, another timestamp precision.

    Not a connection error: retrying will not help until someone changes a configuration, so
    the pipe stops and SHOW PIPES shows this message.
    """

    def __init__(self, endpoint: str, status: Status) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"receiver {endpoint} refused the handshake: {status}")


class ReceiverStatusError(PipeError):
    """The receiver kept answering a request with an error status and the sink's
    ``exception.*`` rules say to stop (a status a retry cannot fix)."""

    def __init__(self, endpoint: str, what: str, status: Status) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"receiver {endpoint} failed {what}: {status}")


class SinkClosedError(PipeConnectionError):
    """The sink was closed while a transfer was still waiting (the pipe is stopping)."""
