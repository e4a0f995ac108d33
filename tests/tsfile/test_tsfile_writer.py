"""TsFileWriter rules: registration, ordering, records, sealing, append, recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.errors import CorruptFileError, SchemaError, StoreClosedError
from pipecore_storage.tsfile import (
    DataPoint,
    FloatDataPoint,
    IntDataPoint,
    TsFileConfig,
    TsFileReader,
    TsFileSchema,
    TsFileWriter,
    TSRecord,
)
from pipecore_storage.types import (
    TSFILE_DEFAULT_COMPRESSION,
    TSFILE_DEFAULT_ENCODINGS,
    CompressionType,
    TSDataType,
    TSEncoding,
)

T, E, C = TSDataType, TSEncoding, CompressionType


def _series(path: Path, device: str) -> dict[str, tuple[list, list]]:
    with TsFileReader(path) as r:
        return {m: (t.tolist(), v.tolist()) for m, (t, v) in r.read_series(device).items()}


def test_reregistering_with_another_type_or_encoding_fails(tmp_path: Path) -> None:
    with TsFileWriter(tmp_path / "a.tsfile") as w:
        w.register_timeseries("root.sg.d1", MeasurementSchema("s1", T.FLOAT, E.RLE))
        w.register_timeseries("root.sg.d1", MeasurementSchema("s1", T.FLOAT, E.RLE))  # same: ok
        with pytest.raises(SchemaError, match="data_type FLOAT"):
            w.register_timeseries("root.sg.d1", MeasurementSchema("s1", T.INT32, E.RLE))
        with pytest.raises(SchemaError, match="encoding RLE"):
            w.register_timeseries("root.sg.d1", MeasurementSchema("s1", T.FLOAT, E.PLAIN))
        with pytest.raises(SchemaError, match="non-aligned"):
            w.register_aligned_timeseries("root.sg.d1", [MeasurementSchema("s2", T.INT32)])
        # the seed's template measurements conflict the same way
        w.add_measurement(MeasurementSchema("sensor_1", T.FLOAT, E.RLE))
        with pytest.raises(SchemaError):
            w.add_measurement(MeasurementSchema("sensor_1", T.INT32, E.RLE))


def test_unwritable_encodings_and_compressions_are_refused(tmp_path: Path) -> None:
    with TsFileWriter(tmp_path / "a.tsfile") as w:
        for schema in (
            MeasurementSchema("a", T.DOUBLE, E.CAMEL),
            MeasurementSchema("b", T.INT32, compression=C.LZO),
            MeasurementSchema("c", T.TEXT, E.GORILLA),
            MeasurementSchema("d", T.BLOB, E.DICTIONARY),
        ):
            with pytest.raises(SchemaError, match=schema.name):
                w.register_timeseries("root.sg.d1", schema)


def test_encodings_the_official_reader_lacks_are_written_as_the_closest_one(tmp_path) -> None:
    # Java allows these; the official C++ reader cannot read them (FLOAT RLE fails with OOM)
    path = tmp_path / "a.tsfile"
    wanted = {
        "f": (T.FLOAT, E.RLE, E.TS_2DIFF),
        "b": (T.BOOLEAN, E.RLE, E.PLAIN),
        "g": (T.DOUBLE, E.GORILLA_V1, E.GORILLA),
        "c": (T.INT64, E.CHIMP, E.TS_2DIFF),
        "z": (T.DATE, E.ZIGZAG, E.TS_2DIFF),
    }
    schemas = [MeasurementSchema(n, t, e) for n, (t, e, _) in wanted.items()]
    vals = {T.FLOAT: 1.25, T.BOOLEAN: True, T.DOUBLE: 2.5, T.INT64: 7, T.DATE: 20240229}
    with TsFileWriter(path) as w:
        for s in schemas:
            w.register_timeseries("root.sg.d1", s)
        w.write_tablet(
            Tablet.from_rows("root.sg.d1", schemas, [(1, [vals[s.data_type] for s in schemas])])
        )
    with TsFileReader(path) as r:
        got = r.schemas("root.sg.d1")
        assert {n: got[n].encoding for n in wanted} == {n: w for n, (_, _, w) in wanted.items()}
        assert {n: v.tolist() for n, (_, v) in r.read_series("root.sg.d1").items()} == {
            s.name: [vals[s.data_type]] for s in schemas
        }


def test_defaults_are_the_official_writers(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    types = [t for t in TSDataType if t not in (T.VECTOR, T.UNKNOWN)]
    rows = [(1, [True, 1, 2, 1.5, 2.5, "t", 1, 2, b"b", "s"])]
    schemas = [MeasurementSchema(f"m_{t.name.lower()}", t) for t in types]
    rows = [(1, [_one(t) for t in types])]
    with TsFileWriter(path) as w:
        w.write_tablet(Tablet.from_rows("root.sg.d1", schemas, rows))
    with TsFileReader(path) as r:
        for t, s in zip(types, r.schemas("root.sg.d1").values(), strict=False):
            del t
            assert s.encoding == TSFILE_DEFAULT_ENCODINGS[s.data_type]
            assert s.compression == TSFILE_DEFAULT_COMPRESSION == C.LZ4
    cfg = TsFileConfig()
    assert (cfg.page_size_bytes, cfg.max_points_per_page) == (65536, 10_000)
    assert (cfg.max_degree_of_index_node, cfg.float_precision) == (256, 2)
    assert cfg.bloom_filter_error_rate == 0.05


def _one(t: TSDataType):
    return {
        T.BOOLEAN: True, T.INT32: 1, T.INT64: 2, T.FLOAT: 1.5, T.DOUBLE: 2.5, T.TEXT: "t",
        T.STRING: "s", T.BLOB: b"b", T.DATE: 20240101, T.TIMESTAMP: 7,
    }[t]  # fmt: skip


def test_rows_are_sorted_and_the_last_duplicate_wins(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    schemas = [MeasurementSchema("s", T.INT64)]
    times = np.array([5, 1, 3, 1, 5], dtype=np.int64)
    with TsFileWriter(path) as w:
        w.write_tablet(Tablet("root.sg.d1", schemas, times, [np.array([50, 10, 30, 11, 51])]))
    assert _series(path, "root.sg.d1") == {"s": ([1, 3, 5], [11, 30, 51])}


def test_times_must_increase_across_writes(tmp_path: Path) -> None:
    with TsFileWriter(tmp_path / "a.tsfile") as w:
        schemas = [MeasurementSchema("s", T.INT64)]
        w.write_tablet(Tablet("root.sg.d1", schemas, np.array([1, 2]), [np.array([1, 2])]))
        with pytest.raises(SchemaError, match=r"root\.sg\.d1\.s: time 2 is not after .* 2"):
            w.write_tablet(Tablet("root.sg.d1", schemas, np.array([2, 3]), [np.array([1, 2])]))
        with pytest.raises(SchemaError, match="increasing time order"):
            w.write_record(TSRecord(0, "root.sg.d1").add_point("s", 5))
        # another series of the same (non-aligned) device has its own last time
        w.write_record(TSRecord(0, "root.sg.d1").add_point("other", 5, T.INT32))


def test_writing_to_a_closed_writer_fails(tmp_path: Path) -> None:
    w = TsFileWriter(tmp_path / "a.tsfile")
    w.close()
    w.close()  # idempotent
    with pytest.raises(StoreClosedError, match="open_for_append"):
        w.write_record(TSRecord(1, "root.sg.d1").add_point("s", 1, T.INT32))
    r = TsFileReader(tmp_path / "a.tsfile")
    assert r.devices() == []
    r.close()
    r.close()
    with pytest.raises(StoreClosedError, match="closed"):
        r.devices()


def test_records_with_absent_values_templates_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    schema = TsFileSchema()
    schema.register_measurement(MeasurementSchema("temp", T.FLOAT, E.GORILLA))
    schema.register_timeseries("root.sg.d1", MeasurementSchema("status", T.BOOLEAN))
    with TsFileWriter(path, schema=schema) as w:
        w.write_record(TSRecord(1, "root.sg.d1").add_tuple(DataPoint("temp", 1.5)))
        w.write_record(
            TSRecord(2, "root.sg.d1", [DataPoint("temp", None), DataPoint("status", True)])
        )
        w.write_record(TSRecord("root.sg.d2", 3).add_point("temp", 2.5))  # official argument order
        # the seed's typed points register an unknown measurement with their type
        w.write_record(TSRecord(4, "root.sg.d3").add_tuple(IntDataPoint("n", 7))
                       .add_tuple(FloatDataPoint("f", 0.5)))  # fmt: skip
        with pytest.raises(SchemaError, match="not registered"):
            w.write_record(TSRecord(4, "root.sg.d1").add_point("unknown", 1))
    assert _series(path, "root.sg.d1") == {"status": ([2], [True]), "temp": ([1], [1.5])}
    assert _series(path, "root.sg.d2") == {"temp": ([3], [2.5])}
    with TsFileReader(path) as r:
        assert {m: s.data_type for m, s in r.schemas("root.sg.d3").items()} == {
            "n": T.INT32, "f": T.FLOAT,
        }  # fmt: skip


def test_v3_files_refuse_v4_types_and_write_version_3(tmp_path: Path) -> None:
    path = tmp_path / "v3.tsfile"
    with TsFileWriter(path, format_version=3) as w:
        for t in (T.DATE, T.TIMESTAMP, T.BLOB, T.STRING):
            with pytest.raises(SchemaError, match="version-3"):
                w.register_timeseries("root.sg.d1", MeasurementSchema("x", t))
        w.write_record(TSRecord(1, "root.sg.d1").add_point("s", 1, T.INT32))
    assert path.read_bytes()[:7] == b"TsFile\x03"
    with pytest.raises(ValueError, match="format_version"):
        TsFileWriter(tmp_path / "v5.tsfile", format_version=5)


def test_pages_and_chunk_groups_are_sealed_automatically(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    config = TsFileConfig(max_points_per_page=100, page_size_bytes=4096,
                          chunk_group_size_bytes=20_000)  # fmt: skip
    schemas = [MeasurementSchema("i", T.INT64, E.PLAIN), MeasurementSchema("t", T.TEXT, E.PLAIN)]
    with TsFileWriter(path, config=config) as w:
        for k in range(10):
            times = np.arange(k * 300, (k + 1) * 300, dtype=np.int64)
            text = np.empty(300, dtype=object)
            text[:] = ["x" * 50] * 300
            w.write_tablet(Tablet("root.sg.d1", schemas, times, [times, text]))
    with TsFileReader(path) as r:
        groups = list(r.chunk_groups())
        assert len(groups) > 1  # the buffer overflowed and was flushed as it went
        for g in groups:
            for c in g.chunks:
                counts = [p.statistics.count for p in c.pages()]
                assert max(counts) <= 100
                if c.measurement == "t":  # ~56 bytes a point: a 4 KiB page holds fewer
                    assert max(counts) < 4096 // 50
        tsm = r.timeseries_metadata("root.sg.d1")["i"]
        assert len(tsm.chunks) == len(groups) and tsm.statistics.count == 3000
        assert [c.statistics.count for c in tsm.chunks] == [
            c.chunks[0].statistics.count for c in groups
        ]
        t, v = r.read_series("root.sg.d1")["i"]
        assert t.tolist() == v.tolist() == list(range(3000))


def test_gorilla_falls_back_to_plain_for_its_end_marker(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    schemas = [
        MeasurementSchema("d", T.DOUBLE, E.GORILLA),
        MeasurementSchema("i", T.INT32, E.GORILLA),
    ]
    vals = np.array([1.0, np.nan, 2.0])
    ints = np.array([1, -(2**31), 3], dtype=np.int32)
    with TsFileWriter(path) as w:
        w.write_tablet(Tablet("root.sg.d1", schemas, np.array([1, 2, 3]), [vals, ints]))
    with TsFileReader(path) as r:
        assert {s.encoding for s in r.schemas("root.sg.d1").values()} == {E.PLAIN}
        got = r.read_series("root.sg.d1")
        assert np.array_equal(got["d"][1], vals, equal_nan=True)
        assert got["i"][1].tolist() == ints.tolist()


def test_device_time_ranges(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    with TsFileWriter(path) as w:
        w.write_record(TSRecord(5, "root.sg.d1").add_point("a", 1, T.INT32))
        w.write_record(TSRecord(9, "root.sg.d1").add_point("b", 1, T.INT32))
        w.flush_chunk_groups()
        w.write_record(TSRecord(12, "root.sg.d1").add_point("a", 1))
        w.write_tablet(Tablet("root.sg.d2", [MeasurementSchema("x", T.INT64)], np.array([-3, 4]),
                              [np.array([1, 2])], aligned=True))  # fmt: skip
        expected = {"root.sg.d1": (5, 12), "root.sg.d2": (-3, 4)}
        assert w.device_time_ranges() == expected
    assert w.device_time_ranges() == expected
    with TsFileReader(path) as r:
        assert r.device_time_ranges() == expected


def test_open_for_append_keeps_chunk_groups_and_continues(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    with TsFileWriter(path) as w:
        w.register_timeseries("root.sg.d1", MeasurementSchema("s", T.INT64, E.TS_2DIFF))
        w.write_record(TSRecord(1, "root.sg.d1").add_point("s", 10))
        w.write_tablet(Tablet("root.sg.d2", [MeasurementSchema("a", T.DOUBLE)], np.array([1, 2]),
                              [np.array([0.5, 1.5])], aligned=True))  # fmt: skip
    with TsFileReader(path) as r:
        meta_offset = r.metadata.meta_offset
    w = TsFileWriter.open_for_append(path)
    assert path.stat().st_size == meta_offset  # the index area is gone
    # re-registering (as the seed says to) may change the encoding of new chunks
    w.register_timeseries("root.sg.d1", MeasurementSchema("s", T.INT64, E.PLAIN))
    with pytest.raises(SchemaError):
        w.register_timeseries("root.sg.d1", MeasurementSchema("s", T.INT32))
    with pytest.raises(SchemaError, match="not after"):
        w.write_record(TSRecord(1, "root.sg.d1").add_point("s", 11))
    w.write_record(TSRecord(2, "root.sg.d1").add_point("s", 20))
    w.write_tablet(Tablet("root.sg.d2", [MeasurementSchema("a", T.DOUBLE)], np.array([3]),
                          [np.array([2.5])], aligned=True))  # fmt: skip
    w.write_record(TSRecord(7, "root.sg.d3").add_point("n", "x", T.TEXT))
    w.close()
    assert _series(path, "root.sg.d1") == {"s": ([1, 2], [10, 20])}
    assert _series(path, "root.sg.d2") == {"a": ([1, 2, 3], [0.5, 1.5, 2.5])}
    assert _series(path, "root.sg.d3") == {"n": ([7], ["x"])}
    with TsFileReader(path) as r:
        assert r.is_aligned("root.sg.d2") and not r.is_aligned("root.sg.d1")
        assert len(r.timeseries_metadata("root.sg.d1")["s"].chunks) == 2


def test_open_for_append_recovers_a_crashed_file(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    w = TsFileWriter(path)
    w.write_tablet(Tablet("root.sg.d1", [MeasurementSchema("s", T.INT64)], np.arange(5),
                          [np.arange(5) * 2]))  # fmt: skip
    w.flush_chunk_groups()
    w.write_tablet(Tablet("root.sg.d1", [MeasurementSchema("s", T.INT64)], np.arange(5, 9),
                          [np.arange(5, 9) * 2]))  # fmt: skip
    w.flush_chunk_groups()
    w._file.flush()
    good = w._pos
    data = path.read_bytes()
    w._file.close()  # a crash: no index, no tail
    path.write_bytes(data[: good - 3])  # the second chunk group is cut short
    with pytest.raises(CorruptFileError, match="incomplete"):
        TsFileReader(path)
    w = TsFileWriter.open_for_append(path)
    w.write_record(TSRecord(20, "root.sg.d1").add_point("s", 99))
    w.close()
    assert _series(path, "root.sg.d1") == {"s": ([0, 1, 2, 3, 4, 20], [0, 2, 4, 6, 8, 99])}


def test_exception_inside_with_leaves_an_appendable_file(tmp_path: Path) -> None:
    path = tmp_path / "a.tsfile"
    with pytest.raises(RuntimeError), TsFileWriter(path) as w:
        w.write_record(TSRecord(1, "root.sg.d1").add_point("s", 1, T.INT32))
        w.flush_chunk_groups()
        raise RuntimeError("boom")
    w = TsFileWriter.open_for_append(path)
    w.close()
    assert _series(path, "root.sg.d1") == {"s": ([1], [1])}


def test_open_for_append_refuses_non_tsfiles(tmp_path: Path) -> None:
    path = tmp_path / "x.tsfile"
    path.write_bytes(b"not a tsfile at all")
    with pytest.raises(CorruptFileError, match="not a TsFile"):
        TsFileWriter.open_for_append(path)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="max_points_per_page"):
        TsFileConfig(max_points_per_page=0)
    with pytest.raises(ValueError, match="compression"):
        TsFileConfig(time_compression="nope")


def test_encoding_threads_do_not_change_the_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    schemas = [
        MeasurementSchema(f"s{k}", t, e, c)
        for k, (t, e, c) in enumerate(
            (t, e, c)
            for t, e in (
                (T.INT64, E.TS_2DIFF),
                (T.DOUBLE, E.GORILLA),
                (T.TEXT, E.DICTIONARY),
                (T.INT32, E.RLE),
            )
            for c in (C.ZSTD, C.LZ4, C.GZIP, C.SNAPPY, C.LZMA2)
        )
    ]
    times = np.arange(3000, dtype=np.int64)
    text = np.empty(3000, dtype=object)
    text[:] = [f"v{k % 17}" for k in range(3000)]
    cols = {
        T.INT64: rng.integers(0, 10**6, 3000),
        T.DOUBLE: rng.normal(size=3000),
        T.TEXT: text,
        T.INT32: rng.integers(0, 9, 3000).astype(np.int32),
    }
    files = []
    for threads in (1, 2, 4):
        path = tmp_path / f"t{threads}.tsfile"
        with TsFileWriter(path, config=TsFileConfig(encode_threads=threads,
                                                    max_points_per_page=500)) as w:  # fmt: skip
            for d in range(6):
                w.write_tablet(Tablet(f"root.t.d{d}", schemas, times,
                                      [cols[s.data_type] for s in schemas]))  # fmt: skip
        files.append(path.read_bytes())
    assert files[0] == files[1] == files[2]
