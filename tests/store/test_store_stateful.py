"""The store against an in-memory model: inserts (in and out of order), deletions, flushes,
LOAD of external TsFiles, close/reopen and crashes, checked by queries and aggregates."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from strategies import STORE_SERIES, store_rows

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.paths import parse_pattern, split_path
from pipecore_storage.store import Store
from pipecore_storage.tsfile import TsFileWriter

DEVICES = {"root.db.d1": False, "root.db.d2": False, "root.db2.a1": True}
PATTERNS = [
    "root.db.d1.s_i64",
    "root.db.d1.*",
    "root.db.**",
    "root.**",
    "root.*.*.s_txt",
    "root.db2.a1.s_dbl",
]
CONFIG = {
    "wal_mode": "ASYNC",
    "avg_series_point_number_threshold": 25,
    "wal_file_size_threshold_in_byte": 4096,
}
times = st.integers(0, 60)
# tmpfs when there is one: the machine runs hundreds of flushes, and fsync on a disk would
# dominate. Durability itself is tested by the SIGKILL tests, on the normal temp directory.
_FAST_TMP = "/dev/shm" if Path("/dev/shm").is_dir() else None


def _tablet(device: str, names: list[str], rows: list) -> Tablet:
    schemas = [MeasurementSchema(m, STORE_SERIES[m]) for m in names]
    return Tablet.from_rows(
        device,
        schemas,
        [(t, [v[m] for m in names]) for t, v in rows],
        aligned=DEVICES.get(device, False),
    )


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pipecore-store-sm-", dir=_FAST_TMP))
        self.store = Store.open(self.dir / "store", CONFIG)
        self.model: dict[str, dict[int, object]] = {}
        self.loads = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _apply(self, device: str, rows: list) -> None:
        for t, values in rows:
            for m, v in values.items():
                if v is not None:
                    self.model.setdefault(f"{device}.{m}", {})[t] = v

    @rule(
        device=st.sampled_from(sorted(DEVICES)),
        names=st.lists(st.sampled_from(sorted(STORE_SERIES)), min_size=1, max_size=3, unique=True),
        data=st.data(),
    )
    def insert_tablet(self, device, names, data):
        # up to 80 rows: small writes share a growing chunk, bigger ones get their own
        rows = data.draw(store_rows(names, times, max_rows=data.draw(st.sampled_from([20, 80]))))
        self.store.insert_tablet(_tablet(device, names, rows))
        self._apply(device, rows)

    @rule(
        device=st.sampled_from(sorted(DEVICES)),
        names=st.lists(st.sampled_from(sorted(STORE_SERIES)), min_size=1, max_size=2, unique=True),
        data=st.data(),
    )
    def insert_records(self, device, names, data):
        rows = data.draw(store_rows(names, times, max_rows=4))
        self.store.insert_records(
            [(device, t, v) for t, v in rows], data_types=STORE_SERIES, aligned=DEVICES[device]
        )
        self._apply(device, rows)

    @rule(pattern=st.sampled_from(PATTERNS), lo=times, span=st.integers(0, 40))
    def delete(self, pattern, lo, span):
        self.store.delete(pattern, lo, lo + span)
        compiled = parse_pattern(pattern)
        for path, points in self.model.items():
            if compiled.matches(split_path(path)):
                for t in [t for t in points if lo <= t <= lo + span]:
                    del points[t]

    @rule(database=st.sampled_from(["root.db", "root.db2", "root.db3"]))
    def delete_database(self, database):
        if not any(p.startswith(database + ".") for p in self.model):
            return
        self.store.delete_database(database)
        for path in [p for p in self.model if p.startswith(database + ".")]:
            del self.model[path]

    @rule(pattern=st.sampled_from(["root.db.d1.s_txt", "root.*.*.s_bool"]))
    def delete_timeseries(self, pattern):
        compiled = parse_pattern(pattern)
        gone = self.store.delete_timeseries(pattern) if self.store.list_series(pattern) else []
        assert all(compiled.matches(split_path(g)) for g in gone)
        assert self.store.list_series(pattern) == []
        for path in [p for p in self.model if compiled.matches(split_path(p))]:
            del self.model[path]

    @rule()
    def flush(self):
        self.store.flush()

    @rule()
    def reopen(self):
        self.store.close()
        self.store = Store.open(self.dir / "store", CONFIG)

    @rule()
    def crash(self):
        self.store._abandon()  # what kill -9 leaves: everything handed to the OS, nothing more
        self.store = Store.open(self.dir / "store", CONFIG)

    @precondition(lambda self: self.loads < 3)
    @rule(
        device=st.sampled_from(["root.db.d2", "root.db3.x1"]),
        names=st.lists(st.sampled_from(sorted(STORE_SERIES)), min_size=1, max_size=3, unique=True),
        data=st.data(),
    )
    def load(self, device, names, data):
        rows = data.draw(store_rows(names, times))
        # a TsFile holds one value per series and time: the last row wins, as in the store
        dedup = {}
        for t, values in rows:
            merged = dict(dedup.get(t, {}))
            merged.update({m: v for m, v in values.items() if v is not None})
            dedup[t] = merged
        rows = [(t, {m: dedup[t].get(m) for m in names}) for t in sorted(dedup)]
        if not any(v is not None for _t, vals in rows for v in vals.values()):
            return
        self.loads += 1
        path = self.dir / f"ext{self.loads}.tsfile"
        tablet = _tablet(device, names, rows)
        # +inf and -inf in one page make the statistics' sum NaN (numpy warns about it)
        with np.errstate(invalid="ignore", over="ignore"):
            w = TsFileWriter(path)
            for s in tablet.schemas:
                w.register_timeseries(device, s)
            w.write_tablet(tablet)
            w.close()
        self.store.load_tsfile(path, on_success="delete")
        assert not path.exists()
        self._apply(device, rows)

    @invariant()
    def queries_agree(self):
        result = self.store.query("root.**")
        expected = {p: pts for p, pts in self.model.items() if pts}
        got_paths = {c for c in result.columns if len(result.series(c)[0])}
        assert got_paths == set(expected), (got_paths, set(expected))
        for path, points in expected.items():
            t, v = result.series(path)
            want_t = sorted(points)
            assert t.tolist() == want_t, path
            assert v.tolist() == [points[x] for x in want_t], path

    @invariant()
    def aggregates_agree(self):
        path = "root.db.d1.s_dbl"
        table = self.store.aggregate(
            [("count", path), ("max_value", path), ("min_time", path), ("last_value", path)],
            start=5,
            end=50,
        )
        if not table.columns:
            assert not self.model.get(path)
            return
        points = {t: v for t, v in self.model.get(path, {}).items() if 5 <= t <= 50}
        count, vmax, tmin, last = table.rows[0]
        assert count == len(points)
        if points:
            assert vmax == max(points.values()) or (
                math.isinf(vmax) and vmax == max(points.values())
            )
            assert tmin == min(points)
            assert last == points[max(points)]
        else:
            assert (vmax, tmin, last) == (None, None, None)


StoreMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestStoreStateMachine = StoreMachine.TestCase


def test_model_helpers_reject_nothing_silently():
    """The model's tablet builder keeps nulls as nulls (a sanity check of the test itself)."""
    t = _tablet("root.db.d1", ["s_i64"], [(1, {"s_i64": None}), (2, {"s_i64": 5})])
    assert t.null_mask(0).tolist() == [True, False]
    assert np.asarray(t.columns[0])[1] == 5
