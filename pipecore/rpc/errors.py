"""Errors of the RPC layer. Each names the peer (``host:port``) it concerns."""

from __future__ import annotations

from pipecore_storage.errors import PipecoreError

__all__ = [
    "FrameError",
    "RpcApplicationError",
    "RpcConnectionError",
    "RpcError",
    "RpcProtocolError",
    "RpcTimeoutError",
]


class RpcError(PipecoreError):
    """Root of the RPC layer's errors. `peer` is ``"host:port"`` of the other end, if known."""

    def __init__(self, message: str, peer: str | None = None) -> None:
        self.peer = peer
        super().__init__(f"{peer}: {message}" if peer else message)


class RpcConnectionError(RpcError, ConnectionError):
    """The connection could not be made, or broke (refused, reset, closed, TLS failure)."""


class RpcTimeoutError(RpcConnectionError, TimeoutError):
    """No answer within the timeout; the connection is closed (its state is unknown)."""


class RpcProtocolError(RpcError, ValueError):
    """The bytes are not a Thrift message this service understands (the connection is closed)."""


class FrameError(RpcProtocolError):
    """A frame length that cannot be accepted: negative, zero, over the maximum, or HTTP.

    `size` is the length read from the 4-byte frame header, `limit` the maximum in force.
    """

    def __init__(self, message: str, size: int, limit: int, peer: str | None = None) -> None:
        self.size = size
        self.limit = limit
        super().__init__(message, peer)


class RpcApplicationError(RpcError):
    """The server answered the call with a Thrift application exception (unknown method, ...).

    `type` is the `TApplicationException` type number.
    """

    def __init__(self, message: str, type: int, peer: str | None = None) -> None:
        self.type = type
        super().__init__(message, peer)
