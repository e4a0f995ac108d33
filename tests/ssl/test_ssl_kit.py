"""pipecore's sink conformance kit (`pipecore.testing.ConnectorTests`) run on
``iotdb-thrift-ssl-sink`` against a TLS receiver (certificates made for the session)."""

from __future__ import annotations

import pytest
from gap_helpers import LinkReceiver, store_as_tablets

from pipecore.testing import ConnectorTests
from pipecore.testing.conformance import sample_tablets
from pipecore_ssl_sink import IoTDBThriftSslSink


class TestSslSinkKit(ConnectorTests):
    plugin_class = IoTDBThriftSslSink
    plugin_name = "iotdb-thrift-ssl-sink"
    pipe_points = 20_000

    @pytest.fixture(autouse=True)
    def _receiver(self, tmp_path, ssl_pki):
        self.pki = ssl_pki
        self.receiver = LinkReceiver(
            tmp_path, "tls", "kit", server_context=ssl_pki.server_context()
        )
        yield
        self.receiver.close()

    def sink_parameters(self, tmp_path):
        return {
            "sink.node-urls": self.receiver.url,
            "ssl.trust-store-path": str(self.pki.ca_pem),
            "ssl.trust-store-pwd": "",
            "sink.batch.max-delay-ms": "10",
        }

    def read_back(self, parameters):
        order = {t.device: t.measurements for t in sample_tablets()}
        return store_as_tablets(self.receiver.store, order)
