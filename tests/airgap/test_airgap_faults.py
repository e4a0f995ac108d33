"""Faults on an air gap, between two nodes in this process (a real pipe, its runtime, the
air-gap receiver of a serving node): a proxy flips a byte of frames (the receiver's CRC and
length checks must refuse every one), cuts frames short and cuts connections. The receiver must
end with exactly the sender's data, and no damaged point may ever be stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gap_helpers import wait_until
from tcp_proxy import FrameBreakingProxy

from pipecore import Node
from pipecore_air_gap_sink import air_gap_receiver_for
from pipecore_storage import MeasurementSchema, Tablet

pytestmark = pytest.mark.slow

FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.1,
    "pipe_sink_retry_interval_ms": 20,
    "pipe_subtask_executor_cron_heartbeat_event_interval_seconds": 0.5,
    "pipe_sink_read_file_buffer_size": 4096,  # files in many pieces (frames)
}


def tablet(device: str, start: int, rows: int) -> Tablet:
    times = np.arange(start, start + rows, dtype=np.int64)
    schemas = [
        MeasurementSchema("a", "INT64"),
        MeasurementSchema("b", "DOUBLE"),
        MeasurementSchema("c", "TEXT"),
    ]
    return Tablet(device, schemas, times, [times, times * 0.25, [f"v{t}" for t in times]])


def rows(node: Node, pattern: str) -> list:
    return [tuple(r) for r in node.execute(f"select ** from {pattern}").rows]


def count(node: Node, pattern: str) -> int:
    table = node.execute(f"select count(*) from {pattern}")
    return sum(int(v or 0) for row in table.rows for v in row)


@pytest.mark.parametrize(
    ("kinds", "e_language"),
    [(("flip",), False), (("flip", "truncate", "cut"), False), (("flip", "truncate"), True)],
)
def test_broken_frames_never_reach_the_store(tmp_path: Path, kinds, e_language):
    sender = Node.open(tmp_path / "a", FAST)
    receiver = Node.open(tmp_path / "b", {**FAST, "pipe_air_gap_receiver_port": 0})
    gap = proxy = None
    try:
        receiver.serve("127.0.0.1", 0)
        gap = air_gap_receiver_for(receiver.receivers).start()
        proxy = FrameBreakingProxy(
            gap.address[1], faults=12, kinds=kinds, seed=len(kinds), span=12_000
        )
        for i in range(6):  # history: sealed files, sent in 4 KB pieces
            sender.store.insert_tablet(tablet("root.gap.files", i * 2000, 2000))
            sender.store.flush()
        sender.create_pipe(
            "p",
            sink={
                "sink": "iotdb-air-gap-sink",
                "sink.node-urls": proxy.url,
                "sink.air-gap.e-language.enable": str(e_language).lower(),
                "sink.tsfile.format-version": "4",
            },
        )
        for i in range(60):  # realtime: a stream of tablets
            sender.store.insert_tablet(tablet("root.gap.stream", i * 100, 100))
        expected = count(sender, "root.gap.**")
        wait_until(lambda: count(receiver, "root.gap.**") == expected, 90, "every point")
        assert rows(receiver, "root.gap.**") == rows(sender, "root.gap.**")
        done = proxy.done
        assert sum(done.values()) >= 5, done
        if not e_language:  # (a flip inside the e-language prefix is skipped unread: harmless)
            assert gap.frames_refused == done["flip"], (gap.frames_refused, done)
        assert sender.get_pipe("p").state == "RUNNING"
    finally:
        if proxy is not None:
            proxy.close()
        if gap is not None:
            gap.stop()
        sender.close()
        receiver.close()
