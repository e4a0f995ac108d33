"""The Java TsFile library reads what pipecore writes, every point, in format versions 3 and 4.

The interop matrix of tests/tsfile/test_tsfile_interop.py (every type × encoding ×
compression, aligned and not, nulls, multi-page chunks, 300 devices, 300 measurements, a deep
index, several chunk groups and appends) is read by org.apache.tsfile:tsfile (v3 and v4) and by
IoTDB 1.x's own org.apache.iotdb:tsfile (v3), and must match exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from java_tsfile import JavaTsFileReader

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileConfig, TsFileWriter, TSRecord
from pipecore_storage.types import TSDataType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tsfile"))
from test_tsfile_interop import COMPRESSIONS, WRITTEN, sample_column
from tsfile_oracle import same_points, tablet_points

T = TSDataType
# (format version, reader flavour): 2.x reads both versions; IoTDB 1.x's reader reads v3
READERS = [(4, "tsfile"), (3, "tsfile"), (3, "iotdb-tsfile")]
READER_IDS = [f"v{v}-{f}" for v, f in READERS]


@pytest.fixture(scope="module")
def java_readers() -> dict[str, JavaTsFileReader]:
    return {f: JavaTsFileReader(f) for f in ("tsfile", "iotdb-tsfile")}


def matrix_tablet(device: str, n: int, aligned: bool, version: int) -> Tablet:
    """Every written type × encoding × compression (v3: the types v3 holds), nulls in each."""
    schemas, cols, masks = [], [], []
    pairs = [(p, c) for p in WRITTEN for c in COMPRESSIONS if version == 4 or p[0].in_format_v3]
    for k, ((dt, e), c) in enumerate(pairs):
        schemas.append(MeasurementSchema(f"{dt.name}_{e.name}_{c.name}".lower(), dt, e, c))
        cols.append(sample_column(dt, n, k))
        mask = np.zeros(n, np.bool_)
        mask[k % 7 :: 7] = True
        masks.append(mask)
    times = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 1000 + (np.arange(n) % 3)
    return Tablet(device, schemas, times, cols, masks, aligned)


def check(got: dict, expected: dict[str, Tablet]) -> None:
    for device, tablet in expected.items():
        assert device in got, f"{device} missing; the Java reader saw {sorted(got)[:5]}"
        dev = got[device]
        assert dev["aligned"] is tablet.aligned
        want = tablet_points(tablet)
        assert set(dev["schemas"]) == set(want)
        for s in tablet.schemas:
            assert dev["schemas"][s.name] == (int(s.data_type), int(s.encoding), int(s.compression))
            assert same_points(dev["points"][s.name], want[s.name]), f"{device}.{s.name}"


@pytest.mark.parametrize("aligned", [False, True], ids=["nonaligned", "aligned"])
@pytest.mark.parametrize(("version", "flavour"), READERS, ids=READER_IDS)
def test_java_reads_every_type_encoding_compression(
    tmp_path: Path, java_readers, version: int, flavour: str, aligned: bool
) -> None:
    path = tmp_path / "matrix.tsfile"
    tablets = {
        "root.m.multi": matrix_tablet("root.m.multi", 250, aligned, version),  # 3 pages a chunk
        "root.m.single": matrix_tablet("root.m.single", 40, aligned, version),
    }
    with TsFileWriter(
        path, config=TsFileConfig(max_points_per_page=100), format_version=version
    ) as w:
        for tablet in tablets.values():
            w.write_tablet(tablet)
    check(java_readers[flavour].read([path])[str(path)], tablets)


@pytest.mark.parametrize(("version", "flavour"), READERS, ids=READER_IDS)
def test_java_reads_300_devices_300_measurements_and_a_deep_index(
    tmp_path: Path, java_readers, version: int, flavour: str
) -> None:
    many, wide, deep = tmp_path / "many.tsfile", tmp_path / "wide.tsfile", tmp_path / "deep.tsfile"
    times = np.arange(1, 6, dtype=np.int64)
    one = [MeasurementSchema("s", T.INT64)]
    devices = {
        f"root.sg{i % 3}.d{i:03d}": Tablet(f"root.sg{i % 3}.d{i:03d}", one, times, [times * i])
        for i in range(300)
    }
    with TsFileWriter(many, format_version=version) as w:
        for tablet in devices.values():
            w.write_tablet(tablet)
    cols = [MeasurementSchema(f"m{j:03d}", T.DOUBLE) for j in range(300)]
    wide_tab = Tablet("root.wide.d", cols, times, [times * 0.5 + j for j in range(300)])
    with TsFileWriter(wide, format_version=version) as w:
        w.write_tablet(wide_tab)
    deep_tabs = {
        f"root.deep.d{k}": Tablet(
            f"root.deep.d{k}", cols[:20], times, [times + j for j in range(20)]
        )
        for k in range(10)
    }
    with TsFileWriter(
        deep, config=TsFileConfig(max_degree_of_index_node=3), format_version=version
    ) as w:
        for tablet in deep_tabs.values():
            w.write_tablet(tablet)
    got = java_readers[flavour].read([many, wide, deep])
    assert len(got[str(many)]) == 300
    check(got[str(many)], devices)
    check(got[str(wide)], {"root.wide.d": wide_tab})
    check(got[str(deep)], deep_tabs)


@pytest.mark.parametrize(("version", "flavour"), READERS, ids=READER_IDS)
def test_java_reads_records_several_chunk_groups_and_appends(
    tmp_path: Path, java_readers, version: int, flavour: str
) -> None:
    path = tmp_path / "groups.tsfile"
    with TsFileWriter(path, format_version=version) as w:
        for t in range(30):
            rec = TSRecord(t, "root.sg.d1").add_point("a", t, T.INT64)
            if t % 2:
                rec.add_point("b", f"v{t}", T.TEXT)
            w.write_record(rec)
            if t % 10 == 9:
                w.flush_chunk_groups()
    w = TsFileWriter.open_for_append(path)
    w.write_record(TSRecord(30, "root.sg.d1").add_point("a", 30))
    w.write_record(TSRecord(31, "root.sg.d2").add_point("c", 1.5, T.DOUBLE))
    w.close()
    got = java_readers[flavour].read([path])[str(path)]
    assert got["root.sg.d1"]["points"]["a"] == [(t, t) for t in range(31)]
    assert got["root.sg.d1"]["points"]["b"] == [(t, f"v{t}") for t in range(1, 30, 2)]
    assert got["root.sg.d2"]["points"]["c"] == [(31, 1.5)]
