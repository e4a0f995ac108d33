"""Files in and out: sealed files read by the official `tsfile` package, official files (and our
v3 files) loaded with LOAD, and bad files refused without a trace."""

from __future__ import annotations

import datetime
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tsfile as official
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipecore_storage import (
    CorruptFileError,
    MeasurementSchema,
    Origin,
    SchemaError,
    Tablet,
    UnsupportedFormatError,
)
from pipecore_storage.store import Store
from pipecore_storage.tsfile import TsFileWriter

CONFORMANCE = Path("/work/shared/conformance/official")
if not CONFORMANCE.is_dir():  # the repository copy, when the shared folder is not mounted
    CONFORMANCE = Path(__file__).resolve().parents[2] / "shared/conformance/official"
needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="conformance files of the official writer not available"
)


def official_points(path: Path) -> dict[str, list[tuple[int, object]]]:
    """series path -> [(time, value)] as the official reader returns them (v4 files only)."""
    r = official.TsFileReader(str(path))
    out: dict[str, list] = {}
    try:
        for device, ds in r.get_all_timeseries_schemas().items():
            names = [t.timeseries_name for t in ds.timeseries_list]
            rs = r.query_timeseries(device, names, -(2**62), 2**62)
            while rs.next():
                t = rs.get_value_by_index(1)
                for i, n in enumerate(names):
                    if not rs.is_null_by_index(i + 2):
                        v = rs.get_value_by_index(i + 2)
                        if isinstance(v, datetime.date):
                            v = v.year * 10000 + v.month * 100 + v.day
                        out.setdefault(f"{device}.{n}", []).append((t, v))
            rs.close()
    finally:
        r.close()
    return out


def store_points(store, pattern="root.**") -> dict[str, list[tuple[int, object]]]:
    r = store.query(pattern)
    out = {}
    for c in r.columns:
        t, v = r.series(c)
        if len(t):
            out[c] = list(zip(t.tolist(), v.tolist(), strict=True))
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-6, atol=1e-6))
    if isinstance(a, bytes) and isinstance(b, str):
        return a.decode() == b
    return a == b


# ---------------------------------------------------------------------- sealed -> official
def test_sealed_files_are_read_by_the_official_package(open_store):
    s = open_store()
    s.create_timeseries("root.sg.d1.flag", "BOOLEAN")  # IoTDB default: RLE
    s.create_timeseries("root.sg.d1.level", "FLOAT", "RLE")  # as in seed 001
    s.create_timeseries("root.sg.d1.count", "INT32", "RLE")
    n = 500
    rng = np.random.default_rng(11)
    times = np.arange(1_700_000_000_000, 1_700_000_000_000 + n * 10, 10)
    text = np.empty(n, dtype=object)
    text[:] = [f"t{i}é" for i in range(n)]
    blob = np.empty(n, dtype=object)
    blob[:] = [bytes([1 + i % 200, 2]) for i in range(n)]
    names = [
        ("flag", "BOOLEAN"),
        ("level", "FLOAT"),
        ("count", "INT32"),
        ("big", "INT64"),
        ("x", "DOUBLE"),
        ("txt", "TEXT"),
        ("str", "STRING"),
        ("bin", "BLOB"),
        ("day", "DATE"),
        ("ts", "TIMESTAMP"),
    ]
    cols = [
        rng.random(n) < 0.5,
        np.round(rng.random(n) * 100, 2).astype(np.float32),
        rng.integers(0, 9, n).astype(np.int32),
        rng.integers(-(2**40), 2**40, n),
        rng.normal(size=n),
        text,
        text,
        blob,
        np.full(n, 20240229, np.int32),
        times + 1,
    ]
    masks = [rng.random(n) < 0.1 for _ in names]
    schemas = [MeasurementSchema(a, b) for a, b in names]
    s.insert_tablet(Tablet("root.sg.d1", schemas, times, cols, masks))
    s.create_aligned_timeseries("root.sg.gps", ["lat", "lon"], ["DOUBLE", "DOUBLE"])
    s.insert_records(
        [
            ("root.sg.gps", int(t), {"lat": 1.5, "lon": None if k % 3 else 2.5})
            for k, t in enumerate(times[:50])
        ],
        aligned=True,
    )
    s.flush()
    # older data into an unsequence file
    s.insert_record("root.sg.d1", int(times[0]) - 5, {"x": 0.25})
    s.flush()
    files = s.sealed_files()
    assert sorted(f.sequence for f in files) == [False, True]
    seen: dict[str, list] = {}
    for f in files:
        for series, pts in official_points(f.path).items():
            seen.setdefault(series, []).extend(pts)
    mine = store_points(s)
    assert set(seen) == set(mine)
    for series, pts in mine.items():
        got = sorted(seen[series])
        assert len(got) == len(pts), series
        assert all(_same(a[1], b[1]) and a[0] == b[0] for a, b in zip(got, pts, strict=True)), (
            series
        )


# ---------------------------------------------------------------------- official -> LOAD
def _sidecar_points(name: str) -> dict[str, list]:
    meta = json.loads((CONFORMANCE / f"{name}.json").read_text())
    out = {}
    for s in meta["series"]:
        pts = []
        for t, v in s["points"]:
            if v is None:
                continue
            if s["type"] == "DATE":
                v = int(v.replace("-", ""))
            elif s["type"] == "BLOB":
                v = bytes.fromhex(v["hex"])
            pts.append((t, v))
        out[f"{s['device']}.{s['measurement']}"] = pts
    return out


@needs_conformance
@pytest.mark.parametrize("name", ["tree_small_plain.tsfile", "tree_multi.tsfile"])
def test_official_files_are_loaded_and_queried(open_store, tmp_path, name):
    src = tmp_path / name
    shutil.copy(CONFORMANCE / name, src)
    s = open_store()
    f = s.load_tsfile(src, Origin.pipe("sender"))
    assert src.exists() and f.loaded and f.origin == Origin(True, "sender")
    expected = _sidecar_points(name)
    got = store_points(s)
    assert set(got) == set(expected)
    for series, pts in expected.items():
        assert len(got[series]) == len(pts), series
        assert all(
            a[0] == b[0] and _same(a[1], b[1]) for a, b in zip(got[series], pts, strict=True)
        ), series
    schema = {r[0]: r[3:6] for r in s.show_timeseries().rows}
    if name == "tree_multi.tsfile":
        assert schema["root.sg1.d2.c_i32"] == ("INT32", "ZIGZAG", "UNCOMPRESSED")
        assert {x.database for x in s.sealed_files()} == {"root.sg1", "root.sg2"}
    s.close()
    s = open_store()
    assert store_points(s) == got


@needs_conformance
def test_table_model_files_are_refused(open_store, tmp_path):
    s = open_store()
    with pytest.raises(UnsupportedFormatError, match="tree"):
        s.load_tsfile(CONFORMANCE / "table_aligned.tsfile")
    assert s.sealed_files() == [] and s.count_timeseries() == 0


def _external(path: Path, device: str, times, values, dtype="INT64", version=4) -> Path:
    schema = MeasurementSchema("v", dtype)
    w = TsFileWriter(path, format_version=version)
    w.register_timeseries(device, schema)
    w.write_tablet(
        Tablet(
            device,
            [schema],
            np.asarray(times, np.int64),
            [np.asarray(values, dtype=schema.data_type.numpy_dtype)],
        )
    )
    w.close()
    return path


def test_corrupt_files_are_refused_and_nothing_is_half_loaded(open_store, tmp_path):
    s = open_store()
    good = _external(tmp_path / "good.tsfile", "root.x.d", range(200), range(200))
    data = good.read_bytes()
    (tmp_path / "cut.tsfile").write_bytes(data[: len(data) // 2])
    broken = bytearray(data)
    broken[30:60] = b"\xff" * 30  # inside the first chunk's pages
    (tmp_path / "bytes.tsfile").write_bytes(bytes(broken))
    (tmp_path / "empty.tsfile").write_bytes(b"")
    for name in ("cut.tsfile", "bytes.tsfile", "empty.tsfile", "missing.tsfile"):
        with pytest.raises((CorruptFileError, UnsupportedFormatError)) as info:
            s.load_tsfile(tmp_path / name)
        assert name in str(info.value)
    assert s.sealed_files() == [] and s.count_timeseries() == 0
    assert list((tmp_path / "store" / "load").iterdir()) == []


def test_a_file_that_contradicts_the_schema_is_refused(open_store, tmp_path):
    s = open_store()
    s.insert_record("root.x.d", 1, {"v": "text"})
    f = _external(tmp_path / "e.tsfile", "root.x.d", [5], [5])
    with pytest.raises(SchemaError, match=re.escape("root.x.d.v")) as info:
        s.load_tsfile(f)
    assert info.value.path == "root.x.d.v"
    assert s.sealed_files() == [] and s.query("root.x.d.v").rows() == [(1, "text")]


def test_overlapping_loads_are_unsequence_and_newest_wins(open_store, tmp_path):
    s = open_store()
    s.insert_tablet(
        Tablet(
            "root.x.d",
            [MeasurementSchema("v", "INT64")],
            np.array([1, 2, 3]),
            [np.array([1, 2, 3])],
        )
    )
    f1 = s.load_tsfile(
        _external(tmp_path / "a.tsfile", "root.x.d", [2, 10], [20, 100]), on_success="delete"
    )
    assert not (tmp_path / "a.tsfile").exists()
    assert not f1.sequence  # the memtable was flushed first; the file overlaps it
    assert s.query("root.x.d.v").rows() == [(1, 1), (2, 20), (3, 3), (10, 100)]
    f2 = s.load_tsfile(_external(tmp_path / "b.tsfile", "root.x.d", [20, 30], [1, 1]))
    assert f2.sequence  # after everything: a sequence file
    s.insert_record("root.x.d", 2, {"v": 7})
    assert s.query("root.x.d.v").rows()[:2] == [(1, 1), (2, 7)]


def test_version_3_files_and_their_mods_are_loaded(open_store, tmp_path):
    s = open_store()
    f = _external(tmp_path / "old.tsfile", "root.v3.d", range(10), range(10), version=3)
    Path(str(f) + ".mods").write_text("DELETION,root.v3.d.v,100,0,4\n")
    sealed = s.load_tsfile(f)
    assert sealed.format_version == 3 and sealed.path.read_bytes()[6] == 3
    assert s.query("root.v3.d.v").series("root.v3.d.v")[0].tolist() == [5, 6, 7, 8, 9]
    s.close()
    s = open_store()
    assert s.query("root.v3.d.v").series("root.v3.d.v")[0].tolist() == [5, 6, 7, 8, 9]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.none() | st.floats(0, 1),
)
def test_damaged_files_are_loaded_whole_or_refused_with_a_store_error(tmp_path_factory, flips, cut):
    work = tmp_path_factory.mktemp("fuzz")
    good = _external(work / "good.tsfile", "root.fz.d", range(300), range(300))
    data = bytearray(good.read_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: int(len(data) * cut)]
    bad = work / "bad.tsfile"
    bad.write_bytes(bytes(data))
    with Store.open(work / "store") as s:
        try:
            f = s.load_tsfile(bad)
        except (CorruptFileError, UnsupportedFormatError, SchemaError):
            assert s.sealed_files() == [] and s.count_timeseries() == 0
            assert list((work / "store" / "load").iterdir()) == []
        else:
            assert s.sealed_files() == [f]
            # what was accepted decoded completely, so it reads back without an error
            assert len(s.query("root.**").timestamps) == len(s.query("root.**"))


def test_a_file_written_by_the_official_package_here_is_loaded(open_store, tmp_path):
    """Independent of the shared conformance files: the official writer makes one now."""
    path = str(tmp_path / "official.tsfile")
    w = official.TsFileWriter(path)
    w.register_device(
        official.DeviceSchema(
            "root.off.d1",
            [
                official.TimeseriesSchema(
                    "temp",
                    official.TSDataType.DOUBLE,
                    official.TSEncoding.GORILLA,
                    official.Compressor.LZ4,
                ),
                official.TimeseriesSchema(
                    "cnt",
                    official.TSDataType.INT64,
                    official.TSEncoding.TS_2DIFF,
                    official.Compressor.SNAPPY,
                ),
            ],
        )
    )
    tab = official.Tablet(
        ["temp", "cnt"], [official.TSDataType.DOUBLE, official.TSDataType.INT64], 100
    )
    tab.set_table_name("root.off.d1")
    for r in range(100):
        tab.add_timestamp(r, 1000 + r)
        tab.add_value_by_index(0, r, r / 4)
        if r % 10:
            tab.add_value_by_index(1, r, r * 3)
    w.write_tablet(tab)
    w.close()
    s = open_store()
    s.load_tsfile(path)
    rows = dict((row[0], row[1:]) for row in s.query("root.off.d1.*").rows())
    assert len(rows) == 100
    assert rows[1005] == (15, 1.25) and rows[1010] == (None, 2.5)
    assert s.aggregate([("count", "root.off.d1.cnt")]).rows == [(90,)]
    assert {r[0]: r[4] for r in s.show_timeseries().rows} == {
        "root.off.d1.cnt": "TS_2DIFF",
        "root.off.d1.temp": "GORILLA",
    }


def test_load_on_success_delete_deletes_only_what_it_loaded(open_store, tmp_path):
    """onSuccess=delete removes the TsFile and the .mods it read, nothing else beside them."""
    s = open_store()
    f = _external(tmp_path / "c.tsfile", "root.del.d", [1, 2, 3], [1, 2, 3])
    Path(str(f) + ".mods").write_text("DELETION,root.del.d.v,100,0,1\n")
    unrelated = [Path(str(f) + ".resource"), tmp_path / "c.tsfile.keep", tmp_path / "d.mods"]
    for p in unrelated:
        p.write_text("not LOAD's\n")
    s.load_tsfile(f, on_success="delete")
    assert not f.exists() and not Path(str(f) + ".mods").exists()
    assert all(p.read_text() == "not LOAD's\n" for p in unrelated)
    assert s.query("root.del.d.v").rows() == [(2, 2), (3, 3)]
