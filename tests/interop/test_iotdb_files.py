"""pipecore reads what a real IoTDB seals in its data directory: TsFiles after FLUSH and the
modification files (IoTDB 2.x: binary ``.mods2``) after DELETE — every point, checked against
IoTDB's own SELECT and against the Java TsFile reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interop_data import ALL_TYPES, device_data, expected, insert, norm, select_points
from iotdb_server import IoTDBServer
from java_tsfile import JavaTsFileReader

from pipecore_storage.mods import read_mods_beside, read_tsfile_tablets
from pipecore_storage.tsfile import TsFileReader

# (encoding, compressor) per type for the explicitly created series: a spread of both
SCHEMA = {
    "BOOLEAN": ("RLE", "SNAPPY"),
    "INT32": ("TS_2DIFF", "GZIP"),
    "INT64": ("GORILLA", "LZ4"),
    "FLOAT": ("RLE", "ZSTD"),
    "DOUBLE": ("GORILLA", "LZMA2"),
    "TEXT": ("DICTIONARY", "SNAPPY"),
    "STRING": ("PLAIN", "UNCOMPRESSED"),
    "BLOB": ("PLAIN", "LZ4"),
    "DATE": ("TS_2DIFF", "LZ4"),
    "TIMESTAMP": ("ZIGZAG", "GZIP"),
}


def _files_of(iotdb: IoTDBServer, database: str) -> list[Path]:
    return [p for p in iotdb.data_files() if f"/{database}/" in str(p)]


def _pipecore_points(files: list[Path]) -> dict[str, list[tuple[int, Any]]]:
    """Every point pipecore reads from the files, modifications applied."""
    out: dict[str, dict[int, Any]] = {}
    for f in files:
        for tablet in read_tsfile_tablets(f):
            for i, s in enumerate(tablet.schemas):
                keep = ~tablet.null_mask(i)
                col = out.setdefault(f"{tablet.device}.{s.name}", {})
                for t, v in zip(
                    tablet.timestamps[keep].tolist(), tablet.columns[i][keep].tolist(), strict=True
                ):
                    col[t] = norm(v, s.data_type)
    return {k: sorted(v.items()) for k, v in out.items() if v}


def test_pipecore_reads_iotdb_sealed_tsfiles_and_mods(iotdb: IoTDBServer, database: str) -> None:
    db = database
    iotdb.execute(f"create database {db}")
    for t in ALL_TYPES:
        enc, comp = SCHEMA[t.name]
        iotdb.execute(
            f"create timeseries {db}.plain.s_{t.name.lower()} with datatype={t.name}, "
            f"encoding={enc}, compressor={comp}"
        )
    cols = ", ".join(
        f"s_{t.name.lower()} {t.name} encoding={SCHEMA[t.name][0]} compressor={SCHEMA[t.name][1]}"
        for t in ALL_TYPES
    )
    iotdb.execute(f"create aligned timeseries {db}.al({cols})")
    data = [
        device_data(f"{db}.plain", 1500, aligned=False, seed=1),
        device_data(f"{db}.al", 1500, aligned=True, seed=2),
        device_data(f"{db}.auto", 40, aligned=False, seed=3, step=7),  # server-chosen schema
    ]
    insert(iotdb.session(), data, rows_per_call=500)
    iotdb.execute(f"flush {db}")
    # deletions over sealed data: one series, a device's every series, a time range
    t0 = data[0].timestamps[0]
    iotdb.execute(
        f"delete from {db}.plain.s_int64 where time <= {t0 + 100_000}",
        f"delete from {db}.al.** where time >= {t0 + 1_400_000}",
        f"delete from {db}.auto.s_text",
    )
    iotdb.execute(f"flush {db}")

    files = _files_of(iotdb, db)
    assert files, "no sealed TsFile"
    deletions = [d for f in files for d in read_mods_beside(f)]
    assert {d.pattern for d in deletions} == {
        f"{db}.plain.s_int64", f"{db}.al.**", f"{db}.auto.s_text"
    }, "the .mods2 deletions"  # fmt: skip
    assert any(f.with_name(f.name + ".mods2").exists() for f in files)

    truth = select_points(iotdb.query, f"{db}.**")  # IoTDB is the authority
    mine = _pipecore_points(files)
    assert set(mine) == set(truth)
    for series, pts in truth.items():
        assert mine[series] == pts, series
    # and what was written, less what was deleted
    want = expected(data)
    assert truth[f"{db}.plain.s_int32"] == want[f"{db}.plain.s_int32"]
    assert f"{db}.auto.s_text" not in truth

    # the raw files, without modifications: pipecore's reader and Java's see the same points
    java = JavaTsFileReader("tsfile").read(files)
    for f in files:
        with TsFileReader(f) as r:
            for device in r.devices():
                assert java[str(f)][device]["aligned"] is r.is_aligned(device)
                schemas = r.schemas(device)
                for m, (times, values) in r.read_series(device).items():
                    s = schemas[m]
                    got = java[str(f)][device]
                    assert got["schemas"][m] == (
                        int(s.data_type),
                        int(s.encoding),
                        int(s.compression),
                    )
                    dtype = s.data_type
                    ours = [
                        (t, norm(v, dtype))
                        for t, v in zip(times.tolist(), values.tolist(), strict=True)
                    ]
                    theirs = [(t, norm(v, dtype)) for t, v in got["points"][m]]
                    assert ours == theirs, f"{f.name} {device}.{m}"
