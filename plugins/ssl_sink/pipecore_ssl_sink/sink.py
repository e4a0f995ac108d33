"""``iotdb-thrift-ssl-sink``: the sync thrift sink (``iotdb-thrift-sync-sink``) over TLS.

Everything but the transport is the thrift sink's: handshake (v2, falling back to v1),
tablets and batches, TsFile pieces and seals, retries, fail-over over ``node-urls``. The
transport is TLS → 4-byte frames → TBinaryProtocol, as IoTDB's (reference §6); the receiver's
certificate must chain to ``ssl.trust-store-path`` and name the host connected to.
"""

from __future__ import annotations

import ssl
from typing import Any

from pipecore import PipeParameters, PipeParameterValidator, RuntimeConfiguration
from pipecore_thrift_sink import IoTDBThriftSyncSink, SinkOptions

from .options import SslOptions
from .transport import tls_transport_factory

__all__ = ["IoTDBThriftSslSink"]


class IoTDBThriftSslSink(IoTDBThriftSyncSink):
    """The SSL sink. `ssl_options` and `ssl_context` are set by customize."""

    ssl_capable = True
    ssl_options: SslOptions
    ssl_context: ssl.SSLContext

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        SslOptions.parse(validator.parameters).context()  # the stores can be read
        SinkOptions.parse(validator.parameters)

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        self.ssl_options = SslOptions.parse(parameters)
        self.ssl_context = self.ssl_options.context()
        self.ssl_options.warn_unverified(configuration.pipe_name)
        super().connector_customize(parameters, configuration)

    def transport_factory(self) -> Any:
        return tls_transport_factory(
            self.ssl_context,
            has_client_certificate=bool(self.ssl_options.key_store_path),
            send_ports=self.options.send_ports,
        )
