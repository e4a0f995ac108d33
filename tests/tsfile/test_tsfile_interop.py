"""Interoperability with the official `tsfile` package (2.5.0): ours -> official, official -> ours.

The official reader runs in a subprocess (see tsfile_oracle). It is never given a v3 file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tsfile_oracle import same_points, tablet_points, write_official

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileConfig, TsFileReader, TsFileWriter
from pipecore_storage.tsfile import compression as comp
from pipecore_storage.tsfile import encoding as enc
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

T, E, C = TSDataType, TSEncoding, CompressionType
COMPRESSIONS = [C.UNCOMPRESSED, C.SNAPPY, C.GZIP, C.LZ4, C.ZSTD, C.LZMA2]
# What the official 2.5.0 writer accepts per type (tsfile-format.md §3.9), CAMEL left out:
# we never write it, and Java cannot read it.
OFFICIAL_ENCODINGS = {
    T.BOOLEAN: [E.PLAIN],
    T.INT32: [E.PLAIN, E.RLE, E.TS_2DIFF, E.GORILLA, E.ZIGZAG, E.CHIMP, E.SPRINTZ, E.RLBE],
    T.INT64: [E.PLAIN, E.RLE, E.TS_2DIFF, E.GORILLA, E.ZIGZAG, E.CHIMP, E.SPRINTZ, E.RLBE],
    T.DATE: [E.PLAIN, E.RLE, E.TS_2DIFF, E.GORILLA, E.CHIMP, E.RLBE],
    T.TIMESTAMP: [E.PLAIN, E.RLE, E.TS_2DIFF, E.GORILLA, E.CHIMP, E.RLBE],
    T.FLOAT: [E.PLAIN, E.TS_2DIFF, E.GORILLA, E.CHIMP, E.SPRINTZ, E.RLBE],
    T.DOUBLE: [E.PLAIN, E.TS_2DIFF, E.GORILLA, E.CHIMP, E.SPRINTZ, E.RLBE],
    T.TEXT: [E.PLAIN, E.DICTIONARY],
    T.STRING: [E.PLAIN, E.DICTIONARY],
    T.BLOB: [E.PLAIN],
}
# Pairs our writer writes (the interoperable subset): everything above that `writable` allows
WRITTEN = [(t, e) for t, es in OFFICIAL_ENCODINGS.items() for e in es if enc.writable(t, e)]


def test_we_write_the_interoperable_subset() -> None:
    # every type gets PLAIN plus its usual compact encodings
    expected = {
        (T.INT32, E.TS_2DIFF), (T.INT64, E.RLE), (T.INT32, E.ZIGZAG), (T.DOUBLE, E.GORILLA),
        (T.FLOAT, E.TS_2DIFF), (T.TEXT, E.DICTIONARY), (T.DATE, E.TS_2DIFF),
        (T.TIMESTAMP, E.GORILLA), (T.STRING, E.DICTIONARY),
    }  # fmt: skip
    assert expected <= set(WRITTEN)
    assert all((t, E.PLAIN) in WRITTEN for t in OFFICIAL_ENCODINGS)
    assert all(comp.writable(c) for c in COMPRESSIONS)


def sample_column(dt: TSDataType, n: int, seed: int) -> np.ndarray:
    """Values every encoding keeps exactly (floats: multiples of 0.25, exact at 2 decimals)."""
    rng = np.random.default_rng(seed)
    if dt == T.BOOLEAN:
        return rng.random(n) < 0.4
    if dt in (T.INT32, T.INT64, T.TIMESTAMP):
        info = np.iinfo(dt.numpy_dtype)
        col = rng.integers(-1000, 1000, n).astype(dt.numpy_dtype)
        col[::11] = info.max
        col[5::13] = info.min + 1
        return np.cumsum(col // 4, dtype=dt.numpy_dtype) if dt == T.TIMESTAMP else col
    if dt == T.DATE:
        return (20200101 + rng.integers(0, 28, n) + 100 * rng.integers(0, 12, n)).astype(np.int32)
    if dt in (T.FLOAT, T.DOUBLE):
        return (rng.integers(-4000, 4000, n) / 4).astype(dt.numpy_dtype)
    words = ["", "a", "温度", "north-1", "é" * 3, "x" * 40]
    out = np.empty(n, dtype=object)
    picks = rng.integers(0, len(words), n)
    if dt == T.BLOB:
        out[:] = [b"\x01" + words[i].encode() for i in picks]  # the binding truncates at NUL
    else:
        out[:] = [f"{words[i]}{i}" for i in picks]
    return out


def matrix_tablet(device: str, n: int, aligned: bool) -> Tablet:
    schemas, cols, masks = [], [], []
    for k, ((dt, e), c) in enumerate((p, c) for p in WRITTEN for c in COMPRESSIONS):
        schemas.append(MeasurementSchema(f"{dt.name}_{e.name}_{c.name}".lower(), dt, e, c))
        cols.append(sample_column(dt, n, k))
        mask = np.zeros(n, np.bool_)
        mask[k % 7 :: 7] = True  # nulls everywhere, at different rows per series
        masks.append(mask)
    times = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 1000 + (np.arange(n) % 3)
    return Tablet(device, schemas, times, cols, masks, aligned)


def _check(official: dict, expected: dict[str, Tablet]) -> None:
    for device, tablet in expected.items():
        got = official[device]
        want = tablet_points(tablet)
        assert set(got["points"]) == set(want)
        for s in tablet.schemas:
            assert got["schemas"][s.name] == (int(s.data_type), int(s.encoding), int(s.compression))
            assert same_points(got["points"][s.name], want[s.name]), f"{device}.{s.name}"


@pytest.mark.parametrize("aligned", [False, True], ids=["nonaligned", "aligned"])
def test_official_reader_reads_every_type_encoding_compression(
    tmp_path: Path, official_reader, aligned: bool
) -> None:
    path = tmp_path / "matrix.tsfile"
    tablets = {
        "root.m.multi": matrix_tablet("root.m.multi", 250, aligned),  # pages of 100 points
        "root.m.single": matrix_tablet("root.m.single", 40, aligned),  # one page per chunk
    }
    with TsFileWriter(path, config=TsFileConfig(max_points_per_page=100)) as w:
        for tablet in tablets.values():
            w.write_tablet(tablet)
    with TsFileReader(path) as r:
        for device, tablet in tablets.items():
            assert r.is_aligned(device) is aligned
            assert {k: v for k, v in r.schemas(device).items()} == {
                s.name: s for s in tablet.schemas
            }
            got = {
                m: list(zip(t.tolist(), v.tolist(), strict=True))
                for m, (t, v) in r.read_series(device).items()
            }
            want = tablet_points(tablet)
            assert all(same_points(got[m], want[m]) for m in want)
        pages = {
            len(c.pages()) for g in r.chunk_groups() for c in g.chunks if g.device == "root.m.multi"
        }
        assert pages == {3}
    _check(official_reader.read([path])[str(path)], tablets)


def test_official_reader_reads_300_devices_and_300_measurements(
    tmp_path: Path, official_reader
) -> None:
    many, wide, deep = tmp_path / "many.tsfile", tmp_path / "wide.tsfile", tmp_path / "deep.tsfile"
    times = np.arange(1, 6, dtype=np.int64)
    one = [MeasurementSchema("s", T.INT64)]
    devices = {
        f"root.sg{i % 3}.d{i:03d}": Tablet(f"root.sg{i % 3}.d{i:03d}", one, times, [times * i])
        for i in range(300)
    }
    with TsFileWriter(many) as w:
        for tablet in devices.values():
            w.write_tablet(tablet)
    cols = [MeasurementSchema(f"m{j:03d}", T.DOUBLE) for j in range(300)]
    wide_tab = Tablet("root.wide.d", cols, times, [times * 0.5 + j for j in range(300)])
    with TsFileWriter(wide) as w:
        w.write_tablet(wide_tab)
    with TsFileWriter(deep, config=TsFileConfig(max_degree_of_index_node=3)) as w:
        for k in range(10):
            w.write_tablet(
                Tablet(f"root.deep.d{k}", cols[:20], times, [times + j for j in range(20)])
            )
    got = official_reader.read([many, wide, deep])
    assert len(got[str(many)]) == 300
    _check(got[str(many)], devices)
    _check(got[str(wide)], {"root.wide.d": wide_tab})
    assert got[str(deep)]["root.deep.d7"]["points"]["m019"] == [(t, t + 19) for t in range(1, 6)]


def test_official_reader_reads_records_several_chunk_groups_and_appends(
    tmp_path: Path, official_reader
) -> None:
    from pipecore_storage.tsfile import TSRecord

    path = tmp_path / "groups.tsfile"
    with TsFileWriter(path) as w:
        for t in range(30):
            rec = TSRecord(t, "root.sg.d1").add_point("a", t, T.INT64)
            if t % 2:
                rec.add_point("b", f"v{t}", T.TEXT)
            w.write_record(rec)
            if t % 10 == 9:
                w.flush_chunk_groups()
    w = TsFileWriter.open_for_append(path)
    w.write_record(TSRecord(30, "root.sg.d1").add_point("a", 30))
    w.close()
    pts = official_reader.read([path])[str(path)]["root.sg.d1"]["points"]
    assert pts["a"] == [(t, t) for t in range(31)]
    assert pts["b"] == [(t, f"v{t}") for t in range(1, 30, 2)]


# ---------------------------------------------------------------------- official -> ours

OFFICIAL_WRITES = [(t, e) for t, es in OFFICIAL_ENCODINGS.items() for e in es if enc.readable(t, e)]


def test_we_read_every_encoding_the_official_writer_writes() -> None:
    missing = [(t.name, e.name) for t, es in OFFICIAL_ENCODINGS.items() for e in es
               if not enc.readable(t, e)]  # fmt: skip
    assert missing == [], "decoders missing for official encodings"


@pytest.mark.parametrize("compression", COMPRESSIONS, ids=lambda c: c.name)
def test_we_read_files_of_the_official_writer(tmp_path: Path, official_reader, compression) -> None:
    path = tmp_path / "official.tsfile"
    schemas, cols, masks = [], [], []
    for k, (dt, e) in enumerate(OFFICIAL_WRITES):
        schemas.append(MeasurementSchema(f"{dt.name}_{e.name}".lower(), dt, e, compression))
        cols.append(sample_column(dt, 300, 100 + k))
        mask = np.zeros(300, np.bool_)
        mask[k % 5 :: 9] = True
        masks.append(mask)
    times = np.arange(300, dtype=np.int64) * 7 + 5
    tablet = Tablet("root.off.d1", schemas, times, cols, masks)
    write_official(str(path), "root.off.d1", schemas, tablet)
    oracle = official_reader.read([path])[str(path)]["root.off.d1"]["points"]
    want = tablet_points(tablet)
    with TsFileReader(path) as r:
        got = r.read_series("root.off.d1")
        assert set(got) == set(want)
        for s in schemas:
            mine = list(zip(got[s.name][0].tolist(), got[s.name][1].tolist(), strict=True))
            # what the official reader reads back is the truth (its float scaling is lossy)
            assert same_points(mine, oracle[s.name]), s.name
            assert r.schemas("root.off.d1")[s.name] == s
            lossless = s.encoding not in (E.SPRINTZ,)
            if lossless:
                assert same_points(mine, want[s.name]), s.name


def test_appending_to_a_file_of_the_official_writer(tmp_path: Path, official_reader) -> None:
    path = tmp_path / "official_then_ours.tsfile"
    schemas = [MeasurementSchema("a", T.INT64, E.TS_2DIFF, C.LZ4)]
    first = Tablet("root.app.d1", schemas, np.arange(1, 6, dtype=np.int64), [np.arange(5) * 3])
    write_official(str(path), "root.app.d1", schemas, first)
    assert b"\x04" + bytes(16) + b"\x02" in path.read_bytes()  # the C++ OPERATION_INDEX_RANGE
    w = TsFileWriter.open_for_append(path)
    w.write_tablet(Tablet("root.app.d1", schemas, np.arange(6, 9, dtype=np.int64), [np.arange(3)]))
    w.write_tablet(Tablet("root.app.d2", schemas, np.arange(3, dtype=np.int64), [np.arange(3)]))
    w.close()
    want = [(1, 0), (2, 3), (3, 6), (4, 9), (5, 12), (6, 0), (7, 1), (8, 2)]
    got = official_reader.read([path])[str(path)]
    assert got["root.app.d1"]["points"]["a"] == want
    assert got["root.app.d2"]["points"]["a"] == [(0, 0), (1, 1), (2, 2)]
    with TsFileReader(path) as r:
        assert [g.device for g in r.chunk_groups()] == ["root.app.d1", "root.app.d1", "root.app.d2"]
        t, v = r.read_series("root.app.d1")["a"]
        assert list(zip(t.tolist(), v.tolist(), strict=True)) == want
