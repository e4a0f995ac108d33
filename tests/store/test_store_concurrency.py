"""Writers from several threads and readers at the same time, with flushes in between."""

from __future__ import annotations

import threading

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet

PAIR = [MeasurementSchema("a", "INT64"), MeasurementSchema("b", "INT64")]


def test_queries_see_consistent_snapshots_while_writers_and_flushes_run(open_store):
    """Each write puts the same rows into series a and b of a device, and the two devices of
    a writer in one atomic batch; a query must never see one half of a write."""
    s = open_store({"avg_series_point_number_threshold": 200, "wal_mode": "SYNC"})
    writers, writes = 4, 60
    errors: list[BaseException] = []
    done = threading.Event()

    def write(w: int) -> None:
        try:
            for k in range(writes):
                times = np.arange(k * 10, k * 10 + 10, dtype=np.int64)
                vals = times * (w + 1)
                s.insert_tablets(
                    [
                        Tablet(f"root.c.w{w}x", PAIR, times, [vals, vals]),
                        Tablet(f"root.c.w{w}y", PAIR, times, [vals, vals]),
                    ]
                )
                if k % 20 == 19:
                    s.flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                r = s.query("root.c.**")
                cols = {c: r.column(c) for c in r.columns}
                for c in r.columns:
                    if c.endswith(".a"):
                        dev = c[:-2]
                        va, ma = cols[c]
                        vb, mb = cols[dev + ".b"]
                        assert np.array_equal(ma, mb), f"{dev}: a and b differ in presence"
                        assert np.array_equal(va[~ma], vb[~mb])
                        twin = dev[:-1] + ("y" if dev.endswith("x") else "x")
                        if twin + ".a" in cols:
                            assert np.array_equal(ma, cols[twin + ".a"][1]), "half a batch"
                table = s.aggregate([("count", "root.c.**")])
                counts = dict(zip(table.columns, table.rows[0], strict=True))
                for name, n in counts.items():  # one snapshot: both halves of each batch
                    assert counts[name.replace("x.", "y.")] == n, counts
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors[0]
    r = s.query("root.c.**")
    assert len(r.columns) == writers * 4
    for w in range(writers):
        t, v = r.series(f"root.c.w{w}x.a")
        assert t.tolist() == list(range(writes * 10))
        assert v.tolist() == [x * (w + 1) for x in range(writes * 10)]
    assert s.sealed_files()
