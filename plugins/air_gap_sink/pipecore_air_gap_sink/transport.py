"""The air-gap sink's connection: requests framed (``L | L | CRC32 | payload``, optionally
wrapped for an e-language gateway) on a plain TCP socket, one reply byte each.

No status crosses an air gap, only OK (0x00) or FAIL (0xFF). `AirGapTransport` turns the
byte into the status the thrift sink's logic expects (reference §5.4, §5.5):

* OK → 200;
* FAIL to handshake v2 → 1801, so the sink falls back to handshake v1 (IoTDB's rule);
* FAIL to handshake v1 → 1802: the receiver refused this sender;
* FAIL to anything else → 1810 (a conflict: ``exception.conflict.*`` decide), as IoTDB does.

Any other byte, an early end of the connection or a reply later than the timeout is a
connection error (the request is sent again on a new connection).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable, Sequence
from typing import Any

from pipecore import PipeConnectionError
from pipecore.rpc import Endpoint, PipeTransferResponse, Status, TSStatusCode, connect_from
from pipecore.rpc.errors import RpcConnectionError, RpcError, RpcProtocolError, RpcTimeoutError
from pipecore_thrift_sink.client import Transport
from pipecore_thrift_sink.protocol import (
    AIR_GAP_FAIL,
    AIR_GAP_OK,
    PipeRequestType,
    air_gap_frame_parts,
)

__all__ = ["AirGapTransport", "air_gap_transport_factory"]

_HEAD = struct.Struct(">bh")
_JOIN_BELOW = 64 * 1024  # smaller frames go out in one send


class AirGapTransport:
    """One TCP connection to an air-gap receiver (or the gateway in front of it)."""

    def __init__(
        self,
        endpoint: Endpoint,
        timeout: float,
        connect_timeout: float,
        e_language: bool,
        send_ports: Sequence[int] = (),
    ) -> None:
        self.peer = str(endpoint)
        self.timeout = timeout
        self.e_language = e_language
        try:
            sock = connect_from((endpoint.ip, endpoint.port), connect_timeout, send_ports)
        except TimeoutError as exc:
            raise RpcTimeoutError(f"cannot connect within {connect_timeout}s", self.peer) from exc
        except OSError as exc:
            raise RpcConnectionError(f"cannot connect: {exc.strerror or exc}", self.peer) from exc
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.settimeout(timeout)
        self.sock: socket.socket | None = sock

    def set_timeout(self, timeout: float | None) -> None:
        self.timeout = timeout if timeout is not None else 0.0
        if self.sock is not None:
            self.sock.settimeout(timeout)

    def transfer_response(self, version: int, type: int, body: bytes) -> PipeTransferResponse:
        return self.transfer_parts(version, type, [body])

    def transfer_parts(self, version: int, type: int, parts: Sequence[Any]) -> PipeTransferResponse:
        sock = self.sock
        if sock is None:
            raise RpcConnectionError("the connection is closed", self.peer)
        frame = air_gap_frame_parts([_HEAD.pack(version, type), *parts], self.e_language)
        what = PipeRequestType.name_of(type)
        try:
            if sum(len(b) for b in frame) < _JOIN_BELOW:
                sock.sendall(b"".join(frame))
            else:
                for buffer in frame:
                    sock.sendall(buffer)
            reply = sock.recv(1)
        except TimeoutError as exc:
            self.close()
            raise RpcTimeoutError(
                f"no reply to {what} from the air-gap receiver within {self.timeout}s", self.peer
            ) from exc
        except OSError as exc:
            self.close()
            raise RpcConnectionError(f"{what} failed: {exc.strerror or exc}", self.peer) from exc
        return self._response(type, what, reply)

    def _response(self, type_: int, what: str, reply: bytes) -> PipeTransferResponse:
        if reply == AIR_GAP_OK:
            return PipeTransferResponse(Status.ok())
        if reply == AIR_GAP_FAIL:
            return PipeTransferResponse(_fail_status(type_, what))
        self.close()
        if not reply:
            raise RpcConnectionError(
                f"the air-gap receiver closed the connection without answering {what}", self.peer
            )
        raise RpcProtocolError(
            f"the air-gap receiver answered {what} with byte {reply.hex()}, not 00 (OK) or ff "
            "(FAIL): is this an air-gap receiver?",
            self.peer,
        )

    def abort(self) -> None:
        """Unblock a request waiting on another thread."""
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _fail_status(type_: int, what: str) -> Status:
    if type_ == PipeRequestType.HANDSHAKE_DATANODE_V2:
        return Status(
            TSStatusCode.PIPE_TYPE_ERROR,
            "the air-gap receiver answered FAIL (0xff) to handshake v2; trying v1",
        )
    if type_ == PipeRequestType.HANDSHAKE_DATANODE_V1:
        return Status(
            TSStatusCode.PIPE_HANDSHAKE_ERROR,
            "the air-gap receiver answered FAIL (0xff) to handshake v2 and v1: it refuses this "
            "sender (user or password, ip_white_list, the same cluster id or another timestamp "
            "precision; its log says which)",
        )
    return Status(
        TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION,
        f"the air-gap receiver answered FAIL (0xff) to {what} (no status crosses an air gap)",
    )


def air_gap_transport_factory(
    e_language: bool = False, send_ports: Sequence[int] = ()
) -> Callable[[Endpoint, float, float], Transport]:
    """Transports for `SinkClient`: ``(endpoint, timeout, connect_timeout) -> transport``,
    from one of `send_ports` (``send-port.*``) when given."""

    def make(endpoint: Endpoint, timeout: float, connect_timeout: float) -> Transport:
        try:
            return AirGapTransport(endpoint, timeout, connect_timeout, e_language, send_ports)
        except RpcError as exc:
            raise PipeConnectionError(f"receiver {endpoint}: {exc}") from exc

    return make
