"""A batching thrift sink in a running pipe sends its batch as soon as the pipe has nothing
more for it (``connector_flush``), not after ``batch.max-delay``: many one-row writes, each
its own event, used to stall the pipe for the whole delay every 1,024 pending events."""

from __future__ import annotations

import time

import numpy as np
import pytest
from thrift_helpers import Receiver

from pipecore import Node
from pipecore_storage import MeasurementSchema, Tablet

ROWS = 3000


@pytest.mark.parametrize("sink", ["iotdb-thrift-sync-sink", "iotdb-thrift-async-sink"])
def test_one_row_writes_do_not_wait_for_the_batch_delay(tmp_path, sink):
    receiver = Receiver(tmp_path)
    config = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.05}
    try:
        with Node.open(tmp_path / "sender", config) as node:
            node.create_pipe(
                "p",
                {
                    "source": "iotdb-source",
                    "source.history.enable": "false",
                    "source.realtime.mode": "stream",
                },
                {},
                {  # a delay no test waits for: only the flush can send these batches
                    "sink": sink,
                    "sink.node-urls": receiver.url,
                    "sink.batch.max-delay-seconds": "300",
                },
            )
            schema = [MeasurementSchema("s", "INT64")]
            started = time.monotonic()
            for t in range(ROWS):  # one event each
                node.store.insert_tablet(
                    Tablet(f"root.fl.d{t % 3}", schema, np.array([t]), [np.array([t])])
                )
            deadline = started + 60
            while receiver.points("root.fl.**") < ROWS and time.monotonic() < deadline:
                time.sleep(0.02)
            assert receiver.points("root.fl.**") == ROWS
            info = node.get_pipe("p")
            assert info.exceptions == ()
    finally:
        receiver.close()
