"""The SSL sink's connections: IoTDB's framed Thrift over TLS, connected (and the TLS
handshake done) when made, so that a certificate problem is told apart from a network one.

A certificate that does not verify raises `ServerCertificateError` — a refusal, not a
connection error: retrying does not help until someone changes a certificate or the trust
store, so the pipe stops and SHOW PIPES shows why (untrusted, expired, wrong host name).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from pipecore import PipeConnectionError, PipeError
from pipecore.rpc import Endpoint, RpcError, Status, TSStatusCode
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


def tls_transport_factory(
    context: ssl.SSLContext,
) -> Callable[[Endpoint, float, float], Transport]:
    """Transports to IoTDB's RPC port over TLS with `context` (host names checked as the
    context says)."""
    make = thrift_transport_factory(context)

    def connect(endpoint: Endpoint, timeout: float, connect_timeout: float) -> Transport:
        transport = make(endpoint, timeout, connect_timeout)
        try:
            transport.open()  # type: ignore[attr-defined]
        except RpcError as exc:
            cause = exc.__cause__
            if isinstance(cause, ssl.SSLCertVerificationError):
                reason = describe_verification_error(cause, endpoint.ip)
                raise ServerCertificateError(str(endpoint), reason, cause.verify_code) from exc
            raise PipeConnectionError(f"receiver {endpoint}: {exc}") from exc
        return transport

    return connect
