"""Child process of test_source_kill: a node with a store and three pipes (hybrid, stream,
batch) to recording sinks that append what they receive to files.

    python source_kill_child.py write  <dir> <run>   # writes until killed
    python source_kill_child.py verify <dir>         # no writes; waits until every sink
                                                     # holds exactly the store's points
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from source_helpers import int_tablet, open_node, read_recording_file, store_points

PIPES = {"p_hybrid": "hybrid", "p_stream": "stream", "p_batch": "batch"}
STORE = {"wal_mode": "ASYNC", "avg_series_point_number_threshold": 3000}
ROWS = 20


def _open(root: Path):
    node = open_node(
        root / "node",
        STORE,
        pipe_heartbeat_interval_seconds_for_collecting_pipe_meta=0.05,
        pipe_sink_pending_queue_max_events=16,
    )
    existing = {p.name for p in node.list_pipes()}
    for name, mode in PIPES.items():
        if name not in existing:
            sink = {
                "sink": "recording-sink",
                "name": name,
                "file": str(root / f"{name}.jsonl"),
                "delay-ms": "2" if mode == "hybrid" else "0",
            }
            node.create_pipe(name, {"source.realtime.mode": mode}, {}, sink)
    return node


def write(root: Path, run: int) -> None:
    node = _open(root)
    acked = os.open(root / "acked.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    print("READY", flush=True)
    base = run * 10_000_000
    k = 0
    while True:  # until SIGKILL
        device = f"root.kill.d{k % 4}"
        first = base + (k // 4) * ROWS
        node.store.insert_tablet(int_tablet(device, range(first, first + ROWS)))
        os.write(acked, f"{device} {first}\n".encode())
        k += 1
        if k % 97 == 0:
            node.store.flush()
        time.sleep(0.001)


def verify(root: Path) -> None:
    node = _open(root)
    try:
        node.store.flush()  # the batch pipe sends sealed files only
        expected = store_points(node.store)
        acked = set()
        for line in (root / "acked.txt").read_text().splitlines():
            device, first = line.split()
            acked |= {(f"{device}.s1", t, t + 0.5) for t in range(int(first), int(first) + ROWS)}
        result = {"store": len(expected), "acked_missing_in_store": len(acked - expected)}
        deadline = time.monotonic() + 40
        for name in PIPES:
            path = root / f"{name}.jsonl"
            got = read_recording_file(path)
            while got != expected and time.monotonic() < deadline:
                time.sleep(0.05)
                got = read_recording_file(path)
            result[name] = {"missing": len(expected - got), "extra": len(got - expected)}
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        node.close()


if __name__ == "__main__":
    mode, root = sys.argv[1], Path(sys.argv[2])
    if mode == "write":
        write(root, int(sys.argv[3]))
    else:
        verify(root)
