"""The SSL sink's connections: IoTDB's framed Thrift over TLS, connected (and the TLS
handshake done) when made, so that a certificate problem is told apart from a network one.

A certificate that does not verify raises `ServerCertificateError` — a refusal, not a
connection error: retrying does not help until someone changes a certificate or the trust
store, so the pipe stops and SHOW PIPES shows why (untrusted, expired, wrong host name).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Any

from pipecore import PipeConnectionError, PipeError
from pipecore.rpc import Endpoint, RpcError, Status, TSStatusCode
from pipecore.rpc.errors import RpcConnectionError
from pipecore_thrift_sink import ReceiverRefusedError, thrift_transport_factory
from pipecore_thrift_sink.client import Transport

__all__ = ["ServerCertificateError", "tls_transport_factory"]

# OpenSSL's X509_V_ERR_* codes
_NOT_YET_VALID = 9
_EXPIRED = 10
_HOST_MISMATCH = frozenset({62, 63, 64})  # host name, e-mail, IP address
_UNTRUSTED = frozenset({2, 18, 19, 20, 21, 27})


class ServerCertificateError(ReceiverRefusedError):
    """The receiver's certificate does not verify: `endpoint`, `reason` and OpenSSL's
    `verify_code`. `status` is a 1802 (handshake refused) carrying the reason."""

    def __init__(self, endpoint: str, reason: str, verify_code: int | None = None) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.verify_code = verify_code
        self.status = Status(TSStatusCode.PIPE_HANDSHAKE_ERROR, reason)
        PipeError.__init__(self, f"receiver {endpoint}: TLS: {reason}")


def describe_verification_error(error: ssl.SSLCertVerificationError, host: str) -> str:
    """What went wrong, in words an operator acts on."""
    code = error.verify_code
    detail = error.verify_message or str(error)
    if code == _EXPIRED:
        return f"the server's certificate has expired ({detail}); renew it on the receiver"
    if code == _NOT_YET_VALID:
        return f"the server's certificate is not valid yet ({detail}); check both clocks"
    if code in _HOST_MISMATCH:
        return (
            f"the server's certificate is not valid for {host!r} ({detail}); connect to a "
            "name the certificate holds, or set 'ssl.verify-hostname'='false'"
        )
    if code in _UNTRUSTED:
        return (
            f"the server's certificate is not trusted ({detail}): ssl.trust-store-path holds "
            "no CA that signed it"
        )
    return f"the server's certificate does not verify ({detail})"


_NO_CLIENT_CERT_HINT = (
    " (a receiver that requires client certificates — mutual TLS — closes the connection "
    "now: give the sink its certificate with ssl.key-store-path)"
)


class _FirstRequestHint:
    """A TLS transport whose first request, when it fails on a broken connection, says that
    the receiver may want a client certificate (with TLS 1.3 a receiver refuses a missing
    one only after the handshake: the client sees an early end of the connection)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.first = True

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.inner, method)(*args)
        except RpcConnectionError as exc:
            if self.first:
                raise RpcConnectionError(f"{exc}{_NO_CLIENT_CERT_HINT}") from exc
            raise
        finally:
            self.first = False

    def transfer_response(self, version: int, type: int, body: bytes) -> Any:
        return self._call("transfer_response", version, type, body)

    def transfer_parts(self, version: int, type: int, parts: Sequence[Any]) -> Any:
        return self._call("transfer_parts", version, type, parts)

    def set_timeout(self, timeout: float | None) -> None:
        self.inner.set_timeout(timeout)

    def abort(self) -> None:
        self.inner.abort()

    def close(self) -> None:
        self.inner.close()


def tls_transport_factory(
    context: ssl.SSLContext,
    has_client_certificate: bool = False,
    send_ports: Sequence[int] = (),
) -> Callable[[Endpoint, float, float], Transport]:
    """Transports to IoTDB's RPC port over TLS with `context` (host names checked as the
    context says), from one of `send_ports` when given; connected — TLS handshake done — when
    made."""
    make = thrift_transport_factory(context, send_ports=send_ports)

    def connect(endpoint: Endpoint, timeout: float, connect_timeout: float) -> Transport:
        transport: Any = make(endpoint, timeout, connect_timeout)
        try:
            transport.open()
        except RpcError as exc:
            cause = exc.__cause__
            if isinstance(cause, ssl.SSLCertVerificationError):
                reason = describe_verification_error(cause, endpoint.ip)
                raise ServerCertificateError(str(endpoint), reason, cause.verify_code) from exc
            raise PipeConnectionError(f"receiver {endpoint}: {exc}") from exc
        return transport if has_client_certificate else _FirstRequestHint(transport)

    return connect
