"""Built-in plugin package `pipecore_ssl_sink` (found through the `pipecore` entry point):
``iotdb-thrift-ssl-sink`` (also ``-connector``) — the sync thrift sink over TLS
(docs/sinks.md, "iotdb-thrift-ssl-sink").

The node side — the RPC port over TLS (``enable_thrift_ssl``, ``key_store_path``, optional
client certificates) — is the core's (`pipecore.rpc.tls`, `Node.serve`).
"""

from __future__ import annotations

from collections.abc import Callable

from pipecore import hookimpl

from .options import SslOptions
from .sink import IoTDBThriftSslSink
from .transport import ServerCertificateError, describe_verification_error, tls_transport_factory

__all__ = [
    "IoTDBThriftSslSink",
    "ServerCertificateError",
    "SslOptions",
    "describe_verification_error",
    "tls_transport_factory",
]


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("sink", "iotdb-thrift-ssl-sink", IoTDBThriftSslSink)
