"""pipecore's sink conformance kit (`pipecore.testing.ConnectorTests`) run on
``iotdb-air-gap-sink`` against an air-gap receiver started for each test."""

from __future__ import annotations

import pytest
from gap_helpers import LinkReceiver, store_as_tablets

from pipecore.testing import ConnectorTests
from pipecore.testing.conformance import sample_tablets
from pipecore_air_gap_sink import IoTDBAirGapSink


class TestAirGapSinkKit(ConnectorTests):
    plugin_class = IoTDBAirGapSink
    plugin_name = "iotdb-air-gap-sink"
    pipe_points = 20_000

    @pytest.fixture(autouse=True)
    def _receiver(self, tmp_path):
        self.receiver = LinkReceiver(tmp_path, "air-gap", "kit")
        yield
        self.receiver.close()

    def sink_parameters(self, tmp_path):
        return {"sink.node-urls": self.receiver.url}

    def read_back(self, parameters):
        order = {t.device: t.measurements for t in sample_tablets()}
        return store_as_tablets(self.receiver.store, order)
