"""Child process of test_store_kill: writes to a store until it is killed.

Usage: python store_kill_child.py <store dir> <wal_mode> <first op> <seed>

Runs op after op, printing ``ACK <k>`` once op k has returned: op k inserts
`op_tablet(k, seed)` (unique timestamps, so nothing is ever overwritten), or, when
`delete_target(k, first)` names an earlier op of this run, deletes all of that op's points.
Every few ops it flushes. Small thresholds make background flushes and WAL segment rolls
frequent, so the kill lands in every phase: appending, flushing, sealing, checkpointing.
"""

from __future__ import annotations

import sys

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.store import Store

DEVICES = ["root.kill.d0", "root.kill.d1", "root.kill2.d2"]
SCHEMAS = [MeasurementSchema("v", "INT64"), MeasurementSchema("t", "TEXT")]


def store_config(wal_mode: str) -> dict:
    return {
        "wal_mode": wal_mode,
        "avg_series_point_number_threshold": 300,
        "wal_file_size_threshold_in_byte": 32768,
        "wal_async_mode_fsync_delay_in_ms": 20,
    }


def op_tablet(k: int, seed: int) -> Tablet:
    """The rows op k writes: 1-40 rows on one device; every 5th op writes old (negative) times
    that land in unsequence files once the device has been flushed."""
    rng = np.random.default_rng([seed, k])
    rows = int(rng.integers(1, 41))
    base = k * 100
    times = np.arange(base, base + rows, dtype=np.int64)
    if k % 5 == 0:
        times = -times - 1
    values = times * 7 + seed
    text = np.empty(rows, dtype=object)
    text[:] = [f"op{k}-{i}" for i in range(rows)]
    return Tablet(DEVICES[k % len(DEVICES)], SCHEMAS, times, [values, text])


def delete_target(k: int, first: int) -> int | None:
    """The insert op whose points op k deletes, or None when op k is an insert."""
    if k % 11 == 0 and k - 3 >= first and delete_target(k - 3, first) is None:
        return k - 3
    return None


def delete_op(store: Store, target: int, seed: int) -> None:
    tablet = op_tablet(target, seed)
    t = tablet.timestamps
    store.delete(f"{tablet.device}.*", int(t.min()), int(t.max()))


def main() -> None:
    path, wal_mode, first, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = Store.open(path, store_config(wal_mode))
    print("READY", flush=True)
    k = first
    while True:
        target = delete_target(k, first)
        if target is None:
            store.insert_tablet(op_tablet(k, seed))
        else:
            delete_op(store, target, seed)
        print(f"ACK {k}", flush=True)
        if k % 23 == 0:
            store.flush()
        k += 1


if __name__ == "__main__":
    main()
