"""Small synchronous clients of `IClientRPCService`: framed transport, binary protocol.

`RpcClient` calls any method of the service by name; `PipeTransferClient` adds
``transfer(version, type, body)`` for the pipe sinks. Both connect lazily, apply a connect
timeout and a read timeout, optionally speak TLS (a client-side `ssl.SSLContext`, host name
checked as the context says), and close the connection on any transport failure so the next
call starts afresh. A client is meant for one thread at a time (calls are serialised by a lock).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

from pipecore_storage.status import PipeTransferResponse

from .errors import RpcConnectionError, RpcProtocolError, RpcTimeoutError
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameReader, write_frame
from .send_ports import connect_from
from .thrift import (
    BINARY,
    TPipeTransferReq,
    decode_reply,
    encode_call,
    encode_pipe_transfer_call,
    status_from_thrift,
)

__all__ = ["PipeTransferClient", "PipeTransferReply", "RpcClient"]


class RpcClient:
    """A connection to a node's RPC port (IoTDB DataNode or pipecore), opened on first use.

    * `timeout` — seconds to wait for each reply (None: forever); `set_timeout` changes it.
    * `connect_timeout` — seconds for TCP connect and TLS handshake (default: `timeout`).
    * `ssl_context` — speak TLS; `server_hostname` overrides the name checked (default `host`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float | None = 60.0,
        *,
        connect_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        protocol: str = BINARY,
        send_ports: Sequence[int] = (),
    ) -> None:
        self.host = host
        self.port = int(port)
        self.timeout = timeout
        self.connect_timeout = connect_timeout if connect_timeout is not None else timeout
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.max_frame_size = max_frame_size
        self.protocol = protocol
        self.send_ports = send_ports  # local ports to connect from (`send_ports.connect_from`)
        self._sock: socket.socket | None = None
        self._reader: FrameReader | None = None
        self._lock = threading.Lock()

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        """Connect now (calls connect by themselves when needed)."""
        with self._lock:
            self._ensure_open()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_timeout(self, timeout: float | None) -> None:
        """Change the reply timeout (e.g. from the handshake timeout to the transfer one)."""
        self.timeout = timeout
        if self._sock is not None:
            self._sock.settimeout(timeout)

    def call(self, name: str, **args: Any) -> Any:
        """Call method `name` with keyword arguments; return its result.

        Raises RpcConnectionError / RpcTimeoutError (the connection is then closed),
        RpcProtocolError for an undecodable reply (closed too) and RpcApplicationError when
        the server answers with an exception (the connection stays usable).
        """
        return self._roundtrip(name, encode_call(name, 0, self.protocol, **args))

    def _roundtrip(self, name: str, message: bytes | list[bytes]) -> Any:
        with self._lock:
            self._ensure_open()
            assert self._sock is not None and self._reader is not None
            try:
                write_frame(self._sock, message)
                frame = self._reader.read_frame()
            except TimeoutError as exc:
                self._drop()
                raise RpcTimeoutError(
                    f"no reply to {name} within {self.timeout}s", self.peer
                ) from exc
            except (OSError, RpcConnectionError, RpcProtocolError) as exc:
                self._drop()
                if isinstance(exc, RpcConnectionError | RpcProtocolError):
                    raise
                raise RpcConnectionError(f"{name} failed: {_reason(exc)}", self.peer) from exc
            if frame is None:
                self._drop()
                raise RpcConnectionError(
                    f"the server closed the connection during {name}", self.peer
                )
            try:
                return decode_reply(name, frame, self.peer)
            except RpcProtocolError:
                self._drop()
                raise

    # ------------------------------------------------------------ internals
    def _ensure_open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = connect_from((self.host, self.port), self.connect_timeout, self.send_ports)
        except TimeoutError as exc:
            raise RpcTimeoutError(
                f"cannot connect within {self.connect_timeout}s", self.peer
            ) from exc
        except OSError as exc:
            raise RpcConnectionError(f"cannot connect: {_reason(exc)}", self.peer) from exc
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self._wrap_tls(sock)
        sock.settimeout(self.timeout)
        self._sock = sock
        self._reader = FrameReader(sock, self.max_frame_size, self.peer)

    def _wrap_tls(self, sock: socket.socket) -> socket.socket:
        assert self.ssl_context is not None
        try:
            return self.ssl_context.wrap_socket(
                sock, server_hostname=self.server_hostname or self.host
            )
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise RpcConnectionError(
                f"TLS: the server's certificate is not trusted: {exc.verify_message or exc}",
                self.peer,
            ) from exc
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise RpcConnectionError(f"TLS handshake failed: {_reason(exc)}", self.peer) from exc

    def _drop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._reader = None


def _reason(exc: OSError) -> str:
    return str(exc.strerror or exc) if isinstance(exc, OSError) else str(exc)


class PipeTransferReply(NamedTuple):
    """A ``pipeTransfer`` answer as ``(status_code, message, body)``."""

    code: int
    message: str | None
    body: bytes | None


class PipeTransferClient(RpcClient):
    """The sinks' client: ``transfer(version, type, body)`` over ``pipeTransfer``."""

    def transfer(self, version: int, type: int, body: bytes) -> PipeTransferReply:
        resp = self.transfer_response(version, type, body)
        return PipeTransferReply(int(resp.status.code), resp.status.message, resp.body)

    def transfer_response(self, version: int, type: int, body: bytes) -> PipeTransferResponse:
        """Like `transfer`, with the whole status (sub-statuses, redirection)."""
        if self.protocol == BINARY:
            resp = self._roundtrip("pipeTransfer", encode_pipe_transfer_call(version, type, body))
        else:
            resp = self.call("pipeTransfer", req=TPipeTransferReq(version, type, body))
        if resp.status is None:
            raise RpcProtocolError("a pipeTransfer reply without a status", self.peer)
        return PipeTransferResponse(status_from_thrift(resp.status), resp.body)
