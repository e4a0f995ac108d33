"""Schema, writes, typing rules, flush, out-of-order data, deletion, queries of the store."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pipecore_storage import MeasurementSchema, SchemaError, StoreClosedError, Tablet
from pipecore_storage.config import StoreConfig, StoreConfigError
from pipecore_storage.mods import read_mods
from pipecore_storage.query import Compare
from pipecore_storage.resource import TsFileResource, parse_tsfile_name
from pipecore_storage.store import Store
from pipecore_storage.types import TSDataType, TSEncoding


def _tablet(device, names_types, times, columns, aligned=False):
    schemas = [MeasurementSchema(n, t) for n, t in names_types]
    return Tablet(device, schemas, np.asarray(times, np.int64), columns, [], aligned)


# ---------------------------------------------------------------------- schema
def test_databases_are_created_once_and_never_nested(open_store):
    s = open_store()
    s.create_database("root.vehicle")
    with pytest.raises(
        SchemaError, match=re.escape("root.vehicle has already been created as database")
    ):
        s.create_database("root.vehicle")
    with pytest.raises(
        SchemaError, match=re.escape("root.vehicle has already been created as database")
    ):
        s.create_database("root.vehicle.d0")
    with pytest.raises(
        SchemaError, match=re.escape("root.vehicle.d0 has already been created")
    ) as info:
        s2 = open_store(name="other")
        s2.create_database("root.vehicle.d0")
        s2.create_database("root.vehicle")
    assert info.value.path == "root.vehicle"
    assert s.show_databases().rows[0][0] == "root.vehicle"


def test_auto_creation_uses_the_default_level_and_iotdb_defaults(open_store):
    s = open_store({"default_storage_group_level": 2})
    s.insert_record("root.ln.wf01.wt01", 1, {"temperature": 25.5, "status": True, "hw": "v1"})
    assert [r[0] for r in s.show_databases().rows] == ["root.ln.wf01"]
    rows = {r[0]: r for r in s.show_timeseries("root.ln.**").rows}
    assert rows["root.ln.wf01.wt01.temperature"][3:6] == ("DOUBLE", "GORILLA", "LZ4")
    assert rows["root.ln.wf01.wt01.status"][3:6] == ("BOOLEAN", "RLE", "LZ4")
    assert rows["root.ln.wf01.wt01.hw"][3:6] == ("TEXT", "PLAIN", "LZ4")
    assert s.count_timeseries("root.ln.**") == 3


def test_auto_creation_off_names_the_unknown_series(open_store):
    s = open_store({"enable_auto_create_schema": False})
    with pytest.raises(SchemaError, match=re.escape("root.sg.d1.s1")) as info:
        s.insert_record("root.sg.d1", 1, {"s1": 1.0})
    assert info.value.path == "root.sg.d1.s1"
    s.create_database("root.sg")
    s.create_timeseries("root.sg.d1.s1", "INT32")
    s.insert_record("root.sg.d1", 1, {"s1": 7})
    assert s.query("root.sg.d1.s1").rows() == [(1, 7)]


def test_values_must_match_the_series_type(open_store):
    s = open_store()
    s.create_timeseries("root.sg.d1.i", "INT32", "RLE")
    s.create_timeseries("root.sg.d1.f", "FLOAT")
    with pytest.raises(
        SchemaError, match=re.escape("data type of root.sg.d1.i is not consistent")
    ) as e:
        s.insert_record("root.sg.d1", 5, {"i": "12"})
    assert e.value.path == "root.sg.d1.i"
    with pytest.raises(SchemaError, match=re.escape("root.sg.d1.i")):
        s.insert_record("root.sg.d1", 5, {"i": 1.5})
    with pytest.raises(SchemaError, match=re.escape("root.sg.d1.i")):
        s.insert_record("root.sg.d1", 5, {"i": True})
    with pytest.raises(SchemaError, match="out of range"):
        s.insert_record("root.sg.d1", 5, {"i": 2**31})
    s.insert_record("root.sg.d1", 5, {"i": 3, "f": 2})  # an int widens into FLOAT
    assert s.query("root.sg.d1.*").rows() == [(5, 2.0, 3)]
    bad = _tablet("root.sg.d1", [("i", "INT64")], [1], [[1]])
    with pytest.raises(
        SchemaError, match=re.escape("root.sg.d1.i: data type INT64 does not match")
    ):
        s.insert_tablet(bad)
    assert s.query("root.sg.d1.i").rows() == [(5, 3)]  # the failed writes left nothing


def test_literal_inference_follows_iotdb(open_store):
    s = open_store()
    s.insert_record("root.sg.d", 1, {"a": 1, "b": 1.5, "c": True, "d": "x", "e": b"\x01"})
    types = {r[0].rsplit(".", 1)[1]: r[3] for r in s.show_timeseries().rows}
    assert types == {"a": "DOUBLE", "b": "DOUBLE", "c": "BOOLEAN", "d": "TEXT", "e": "BLOB"}
    s.insert_record("root.sg.d", 2, {"n": 5}, data_types={"n": "INT64"})
    assert s.series("root.sg.d.n").data_type == TSDataType.INT64
    s2 = open_store({"integer_string_infer_type": "INT64"}, name="other")
    s2.insert_record("root.sg.d", 1, {"a": 1})
    assert s2.series("root.sg.d.a").data_type == TSDataType.INT64


def test_encodings_the_type_cannot_have_are_refused(open_store):
    s = open_store()
    with pytest.raises(SchemaError, match="encoding TS_2DIFF does not support BOOLEAN"):
        s.create_timeseries("root.sg.d.b", "BOOLEAN", "TS_2DIFF")
    with pytest.raises(SchemaError, match=re.escape("root.sg.d.x")):
        s.create_timeseries("root.sg.d.x", "NOPE")
    s.create_timeseries("root.sg.d.b", "BOOLEAN")
    with pytest.raises(SchemaError, match="already exists"):
        s.create_timeseries("root.sg.d.b", "BOOLEAN")


def test_aligned_devices_keep_their_kind(open_store):
    s = open_store()
    s.create_aligned_timeseries("root.sg.gps", ["lat", "lon"], ["FLOAT", "FLOAT"])
    with pytest.raises(SchemaError, match=re.escape("root.sg.gps")):
        s.insert_record("root.sg.gps", 1, {"lat": 1.0})
    s.insert_record("root.sg.gps", 1, {"lat": 1.0, "lon": None}, aligned=True)
    s.flush()
    assert s.show_devices().rows == [("root.sg.gps", "true", None)]
    assert s.query("root.sg.gps.*").rows() == [(1, 1.0, None)]


def test_paths_are_checked(open_store):
    s = open_store()
    for bad in ("sg.d1", "root", "root..d", "root.a.`b"):
        with pytest.raises(SchemaError):
            s.insert_record(bad, 1, {"s": 1.0})
    with pytest.raises(SchemaError, match="illegal measurement"):
        s.insert_record("root.sg.d", 1, {"a.b": 1.0})
    s.insert_record("root.sg.`d.x`", 1, {"s": 1.0})
    assert s.query("root.sg.`d.x`.s").columns == ["root.sg.`d.x`.s"]


# ---------------------------------------------------------------------- flush and files
def test_flush_seals_files_with_iotdb_names_and_resources(open_store, tmp_path):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d1", [("s", "INT64")], [3, 1, 2], [[30, 10, 20]]))
    s.insert_tablet(_tablet("root.sg.d2", [("s", "DOUBLE")], [5], [[0.5]]))
    (f,) = s.flush()
    assert f.path.parent == tmp_path / "store/data/sequence/root.sg/0/0"
    millis, version, inner, cross = parse_tsfile_name(f.path.name)
    assert (version, inner, cross) == (0, 0, 0) and millis > 0
    res = TsFileResource.deserialize(f.resource_path.read_bytes(), 4, f.resource_path)
    assert res.device_times == {"root.sg.d1": (1, 3), "root.sg.d2": (5, 5)}
    assert (res.min_plan_index, res.max_plan_index) == (f.min_seq, f.max_seq) == (0, 1)
    raw = f.resource_path.read_bytes()
    assert raw[:2] == b"\x01\x01" and raw[-1:] == b"\x00"  # version 1, device index, EMPTY_BLOCK
    assert s.query("root.sg.d1.s").rows() == [(1, 10), (2, 20), (3, 30)]


def test_out_of_order_writes_go_to_unsequence_files_and_newest_wins(open_store, tmp_path):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", [("s", "INT64")], [10, 20, 30], [[1, 2, 3]]))
    s.flush()
    s.insert_tablet(_tablet("root.sg.d", [("s", "INT64")], [20, 25, 40], [[200, 250, 400]]))
    assert s.query("root.sg.d.s").rows() == [(10, 1), (20, 200), (25, 250), (30, 3), (40, 400)]
    files = s.flush()
    kinds = sorted(f.sequence for f in files)
    assert kinds == [False, True]  # 20, 25 are older than the sealed 30: unsequence
    assert list((tmp_path / "store/data/unsequence/root.sg/0/0").glob("*.tsfile"))
    s.close()
    s = open_store()
    assert s.query("root.sg.d.s").rows() == [(10, 1), (20, 200), (25, 250), (30, 3), (40, 400)]


def test_size_threshold_flushes_in_the_background(open_store):
    s = open_store({"avg_series_point_number_threshold": 100})
    for k in range(5):
        s.insert_tablet(
            _tablet(
                "root.sg.d",
                [("s", "INT32")],
                np.arange(k * 60, k * 60 + 60),
                [np.arange(60, dtype=np.int32)],
            )
        )
    for _ in range(200):
        if s.sealed_files():
            break
        import time

        time.sleep(0.01)
    assert s.sealed_files()
    assert len(s.query("root.sg.d.s")) == 300


def test_timed_flush(open_store):
    import time

    s = open_store(
        {"seq_memtable_flush_interval_in_ms": 30, "seq_memtable_flush_check_interval_in_ms": 10}
    )
    s.insert_record("root.sg.d", 1, {"s": 1.0})
    deadline = time.monotonic() + 5
    while not s.sealed_files() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(s.sealed_files()) == 1


# ---------------------------------------------------------------------- deletion
def test_delete_writes_iotdb_mods_and_is_honoured_everywhere(open_store):
    s = open_store()
    s.insert_tablet(
        _tablet("root.sg.d", [("a", "INT64"), ("b", "INT64")], [1, 2, 3], [[1, 2, 3], [4, 5, 6]])
    )
    (f,) = s.flush()
    s.insert_tablet(_tablet("root.sg.d", [("a", "INT64")], [4, 5], [[7, 8]]))
    s.delete("root.sg.d.a", 2, 4)
    assert s.query("root.sg.d.a").rows() == [(1, 1), (5, 8)]
    assert s.query("root.sg.d.b").rows() == [(1, 4), (2, 5), (3, 6)]
    text = f.mods_path.read_text()
    assert text == f"DELETION,root.sg.d.a,{f.path.stat().st_size},2,4\n"
    assert read_mods(f.mods_path)[0].pattern == "root.sg.d.a"
    res = TsFileResource.deserialize(f.resource_path.read_bytes(), 4, f.resource_path)
    assert res.mods_name == f.path.name + ".mods"
    s.delete("root.sg.**")
    assert len(s.query("root.sg.**")) == 0
    s.close()
    s = open_store()
    assert len(s.query("root.sg.**")) == 0
    s.insert_record("root.sg.d", 2, {"a": 9}, data_types={"a": "INT64"})
    assert s.query("root.sg.d.a").rows() == [(2, 9)]  # later writes are not deleted


def test_delete_database_drops_schema_files_and_memtable(open_store, tmp_path):
    s = open_store()
    s.insert_record("root.a.d", 1, {"s": 1.0})
    s.insert_record("root.b.d", 1, {"s": 2.0})
    (f,) = [f for f in s.flush() if f.database == "root.a"]
    s.insert_record("root.a.d", 2, {"s": 3.0})
    assert s.delete_database("root.a") == ["root.a"]
    assert not f.path.exists()
    assert [r[0] for r in s.show_databases().rows] == ["root.b"]
    assert s.query("root.**").rows() == [(1, 2.0)]
    with pytest.raises(SchemaError, match=re.escape("root.zzz")):
        s.delete_database("root.zzz")
    s.close()
    s = open_store()
    assert s.query("root.**").rows() == [(1, 2.0)]
    s.insert_record("root.a.d", 5, {"s": "text now"})
    assert s.query("root.a.d.s").rows() == [(5, "text now")]


# ---------------------------------------------------------------------- queries
def test_query_result_shapes_filters_and_paging(open_store):
    s = open_store()
    s.insert_tablet(
        _tablet(
            "root.sg.d1",
            [("s1", "INT32"), ("s2", "TEXT")],
            [1, 2, 3, 4],
            [[1, 2, 3, 4], ["a", "b", "c", "d"]],
        )
    )
    s.insert_tablet(_tablet("root.sg.d2", [("s1", "DOUBLE")], [2, 5], [[0.5, 1.5]]))
    r = s.query("root.sg.**", start=2, end=4)
    assert r.columns == ["root.sg.d1.s1", "root.sg.d1.s2", "root.sg.d2.s1"]
    assert r.data_types == [TSDataType.INT32, TSDataType.TEXT, TSDataType.DOUBLE]
    assert r.timestamps.dtype == np.int64 and r.values[0].dtype == np.int32
    assert r.rows() == [(2, 2, "b", 0.5), (3, 3, "c", None), (4, 4, "d", None)]
    assert r.to_table().columns[0] == "Time"
    f = s.query(["root.sg.d1.s2"], value_filter=Compare("root.sg.d1.s1", ">=", 3))
    assert f.rows() == [(3, "c"), (4, "d")]
    f = s.query(
        "root.sg.**",
        value_filter=Compare("root.sg.d2.s1", "<", 1) | Compare("root.sg.d1.s2", "=", "d"),
    )
    assert [row[0] for row in f.rows()] == [2, 4]
    assert s.query("root.sg.d1.s1", limit=2, offset=1).rows() == [(2, 2), (3, 3)]
    assert s.query("root.nothing.**").rows() == []


def test_aggregates_match_numpy_in_memtable_and_files(open_store):
    s = open_store()
    rng = np.random.default_rng(3)
    values = rng.normal(size=500)
    s.insert_tablet(_tablet("root.sg.d", [("v", "DOUBLE")], np.arange(500), [values]))
    s.flush()
    s.insert_tablet(
        _tablet("root.sg.d", [("v", "DOUBLE")], np.arange(500, 600), [values[:100] * 2])
    )
    allv = np.concatenate([values, values[:100] * 2])
    names = [
        "count",
        "sum",
        "avg",
        "min_value",
        "max_value",
        "first_value",
        "last_value",
        "min_time",
        "max_time",
    ]
    table = s.aggregate([(n, "root.sg.d.v") for n in names])
    assert table.columns == [f"{n}(root.sg.d.v)" for n in names]
    got = dict(zip(names, table.rows[0], strict=True))
    assert got["count"] == 600
    assert got["sum"] == pytest.approx(allv.sum())
    assert got["avg"] == pytest.approx(allv.mean())
    assert (got["min_value"], got["max_value"]) == (allv.min(), allv.max())
    assert (got["first_value"], got["last_value"]) == (allv[0], allv[-1])
    assert (got["min_time"], got["max_time"]) == (0, 599)
    ranged = s.aggregate([("count", "root.sg.d.v")], start=450, end=520).rows[0]
    assert ranged == (71,)
    with pytest.raises(SchemaError, match="only support numeric"):
        s.insert_record("root.sg.d", 1, {"t": "x"})
        s.aggregate([("sum", "root.sg.d.t")])
    with pytest.raises(ValueError, match="unknown aggregate"):
        s.aggregate([("median", "root.sg.d.v")])
    assert s.last("root.sg.d.v").rows == [(599, "root.sg.d.v", allv[-1], "DOUBLE")]


def test_aggregates_over_a_clean_file_use_its_statistics(open_store, monkeypatch):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", [("v", "INT64")], np.arange(1000), [np.arange(1000)]))
    s.flush()
    from pipecore_storage.tsfile import TsFileReader

    def no_decoding(*a, **k):
        raise AssertionError("decoded a page although statistics answer the query")

    monkeypatch.setattr(TsFileReader, "read_series", no_decoding)
    assert s.aggregate(
        [("count", "root.sg.d.v"), ("sum", "root.sg.d.v"), ("max_time", "root.sg.d.v")]
    ).rows == [(1000, 499500.0, 999)]
    s.delete("root.sg.d.v", 0, 0)  # now the file has a deletion: it must be decoded
    with pytest.raises(AssertionError, match="decoded a page"):
        s.aggregate([("count", "root.sg.d.v")])


# ---------------------------------------------------------------------- config and lifecycle
def test_config_errors_name_the_key():
    with pytest.raises(StoreConfigError, match="wal_mode") as e:
        StoreConfig.from_mapping({"wal_mode": "sometimes"})
    assert e.value.key == "wal_mode"
    with pytest.raises(StoreConfigError, match="unknown key"):
        StoreConfig.from_mapping({"wal_modes": "SYNC"})
    with pytest.raises(StoreConfigError, match="memtable_size_threshold"):
        StoreConfig.from_mapping({"memtable_size_threshold": -5})
    cfg = StoreConfig()
    assert (cfg.wal_mode, cfg.wal_async_mode_fsync_delay_in_ms) == ("ASYNC", 1000)
    assert cfg.default_boolean_encoding == TSEncoding.RLE
    assert (cfg.enable_auto_create_schema, cfg.default_storage_group_level) == (True, 1)


def test_a_store_is_open_in_one_place_and_closed_means_closed(open_store, tmp_path):
    s = open_store()
    with pytest.raises(StoreClosedError, match="another process"):
        Store.open(tmp_path / "store")
    s.close()
    with pytest.raises(StoreClosedError):
        s.insert_record("root.sg.d", 1, {"s": 1.0})
    with Store.open(tmp_path / "store") as again:
        assert again.last_seq >= -1
    with pytest.raises(StoreClosedError, match="timestamp_precision"):
        Store.open(tmp_path / "store", {"timestamp_precision": "ns"})


def test_delete_timeseries_drops_schema_and_data(open_store):
    s = open_store()
    s.insert_record("root.sg.d", 1, {"a": 1.0, "b": 2.0})
    s.flush()
    s.insert_record("root.sg.d", 2, {"a": 3.0})
    assert s.delete_timeseries("root.sg.d.a") == ["root.sg.d.a"]
    assert [r[0] for r in s.show_timeseries().rows] == ["root.sg.d.b"]
    assert s.query("root.sg.**").rows() == [(1, 2.0)]
    with pytest.raises(SchemaError, match="does not exist"):
        s.delete_timeseries("root.sg.d.a")
    s.insert_record("root.sg.d", 1, {"a": "now text"})  # recreated with another type
    s.close()
    s = open_store()
    assert s.query("root.sg.d.a").rows() == [(1, "now text")]


def test_insert_records_takes_rows_or_iotdb_style_columns(open_store):
    s = open_store()
    seqs = s.insert_records([("root.sg.d1", 1, {"a": 1.0}), ("root.sg.d2", 2, {"a": 2.0})])
    assert len(seqs) == 2 and seqs[0] < seqs[1]
    s.insert_records(["root.sg.d1", "root.sg.d2"], [3, 4], [{"a": 3.0}, {"a": None}])
    assert s.query("root.sg.**").rows() == [(1, 1.0, None), (2, None, 2.0), (3, 3.0, None)]
    with pytest.raises(ValueError, match="2 devices, 1 timestamps"):
        s.insert_records(["root.sg.d1", "root.sg.d2"], [3], [{}, {}])


def test_small_writes_are_gathered_and_read_back_exactly(open_store):
    s = open_store()
    sub = s.subscribe("p", capacity_events=100000)
    seqs = [
        s.insert_record(
            "root.sg.d", t, {"a": float(t), "b": None if t % 3 else t}, data_types={"b": "INT64"}
        )
        for t in range(2000)
    ]
    s.insert_tablet(
        Tablet(
            "root.sg.d", [MeasurementSchema("a", "DOUBLE")], np.arange(5000, 5100), [np.ones(100)]
        )
    )  # a big write in between
    s.insert_record("root.sg.d", 6000, {"a": 1.0, "b": 1})
    r = s.query("root.sg.d.*")
    assert len(r) == 2101
    assert r.series("root.sg.d.b")[0].tolist() == [*range(0, 2000, 3), 6000]
    events = [e.seq for e in s.replay(seqs[10])]
    assert events == [e.seq for e in sub.drain()][10:]  # one event per write, in order
    s.delete("root.sg.d.a", 0, 999)
    assert len(s.query("root.sg.d.a")) == 1101
    s.delete_timeseries("root.sg.d.b")
    s.insert_record("root.sg.d", 7000, {"b": "text"})  # same name, another type
    assert s.query("root.sg.d.b").rows() == [(7000, "text")]
    s._abandon()
    s = open_store()
    assert len(s.query("root.sg.d.a")) == 1101
    assert s.query("root.sg.d.b").rows() == [(7000, "text")]


def test_database_names_must_make_folder_names(open_store):
    s = open_store()
    for bad in ("root.`a/b`", "root.a\x00b"):
        with pytest.raises(SchemaError, match="illegal"):
            s.create_database(bad)
        with pytest.raises(SchemaError, match="illegal"):
            s.insert_record(bad + ".d", 1, {"s": 1.0})
    s.insert_record("root.ok.`x/y`", 1, {"s": 1.0})  # a device node may hold a slash
    s.flush()
    assert s.query("root.ok.**").rows() == [(1, 1.0)]


def test_version_3_stores_refuse_types_version_3_cannot_hold(open_store):
    s = open_store({"tsfile_format_version": 3})
    with pytest.raises(SchemaError, match="version-3"):
        s.create_timeseries("root.sg.d.day", "DATE")
    with pytest.raises(SchemaError, match=re.escape("root.sg.d.b")):
        s.insert_record("root.sg.d", 1, {"b": b"\x01"})
    s.insert_record("root.sg.d", 1, {"x": 1.5, "t": "text"})
    (f,) = s.flush()
    assert f.path.read_bytes()[6] == 3 and f.format_version == 3
    s.close()
    s = open_store({"tsfile_format_version": 3})
    assert s.query("root.sg.d.*").rows() == [(1, "text", 1.5)]


def test_a_record_of_only_nulls_for_new_series_writes_nothing(tmp_path):
    """IoTDB cannot type a series from a null: such a row creates no series and no point."""
    with Store.open(tmp_path / "s") as store:
        before = store.last_seq
        store.insert_record("root.sg.d1", 1, {"x": None})
        store.insert_records([("root.sg.d1", 2, {"x": None}), ("root.sg.d2", 3, {"y": 1.5})])
        assert store.count_timeseries("root.**") == 1
        assert store.query("root.**").rows() == [(3, 1.5)]
        assert store.last_seq == before + 1
