"""Child process of test_store_diskfull: writes multi-row batches to a store on a small disk
until it is killed, and says which batches were acknowledged and which were refused.

Usage: python store_diskfull_child.py <store dir> <first op> <seed>

Op k writes `batch_rows(k, seed)` rows of `op_records(k, seed)` as one `insert_records` call
(one statement: all of it is acknowledged or none). ``ACK k`` is printed after it returns,
``REFUSED k`` when it raised. Every few ops it flushes (a flush may fail on the full disk;
that refuses nothing). Small thresholds make background flushes and WAL rolls frequent.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from pipecore_storage.store import Store

DEVICES = ["root.full.d0", "root.full.d1", "root.full2.d2"]


def store_config() -> dict:
    return {
        "wal_mode": "SYNC",
        "avg_series_point_number_threshold": 2000,
        "wal_file_size_threshold_in_byte": 256 << 10,
    }


def batch_rows(k: int, seed: int) -> int:
    return int(np.random.default_rng([seed, k]).integers(20, 400))


def op_records(k: int, seed: int) -> list[tuple[str, int, dict]]:
    """Rows of op k: unique timestamps per device (nothing is ever overwritten)."""
    rows = batch_rows(k, seed)
    return [
        (DEVICES[i % len(DEVICES)], k * 1000 + i, {"v": k * 1000 + i + seed, "t": f"op{k}-{i}"})
        for i in range(rows)
    ]


def main() -> None:
    path, first, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = Store.open(path, store_config())
    print("READY", flush=True)
    k = first
    while True:
        try:
            store.insert_records(op_records(k, seed))
        except OSError as exc:
            print(f"REFUSED {k} {exc.errno}", flush=True)
        else:
            print(f"ACK {k}", flush=True)
        if k % 17 == 0:
            with contextlib.suppress(OSError):
                store.flush()
        k += 1


if __name__ == "__main__":
    main()
