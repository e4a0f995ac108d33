"""Files written by the official implementation read back exactly as their sidecars say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tsfile_oracle import same_points

from pipecore_storage.tsfile import Statistics, TsFileReader
from pipecore_storage.types import TSDataType

OFFICIAL = Path("/work/shared/conformance/official")
if not OFFICIAL.is_dir():  # the repository copy, when the shared tree is elsewhere
    OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "official"

pytestmark = pytest.mark.skipif(
    not OFFICIAL.is_dir(), reason="conformance files not found (shared/conformance/official)"
)


def _value(v, data_type: TSDataType):
    if v is None:
        return None
    if data_type == TSDataType.DATE:
        y, m, d = (int(x) for x in v.split("-"))
        return y * 10000 + m * 100 + d
    if data_type == TSDataType.BLOB:
        return bytes.fromhex(v["hex"])
    if data_type in (TSDataType.FLOAT, TSDataType.DOUBLE):
        return float(v)
    return v


def expected_series(name: str) -> dict[tuple[str, str], tuple[TSDataType, list]]:
    """(device, measurement) -> (data type, non-null points) from a sidecar."""
    side = json.loads((OFFICIAL / f"{name}.json").read_text())
    out = {}
    if side["model"] == "tree":
        for s in side["series"]:
            dt = TSDataType[s["type"]]
            pts = [(t, _value(v, dt)) for t, v in s["points"] if v is not None]
            out[(s["device"], s["measurement"])] = (dt, pts)
        return out
    cols = side["columns"]
    tags = [i for i, c in enumerate(cols) if c["category"] == "TAG"]
    fields = [i for i, c in enumerate(cols) if c["category"] == "FIELD"]
    for row in side["rows"]:
        device = ".".join([side["table"], *(row[1 + i] for i in tags)])
        for i in fields:
            dt = TSDataType[cols[i]["type"]]
            pts = out.setdefault((device, cols[i]["name"]), (dt, []))[1]
            if row[1 + i] is not None:
                pts.append((row[0], _value(row[1 + i], dt)))
    for _, pts in out.values():
        pts.sort()
    return out


FILES = ["tree_small_plain.tsfile", "tree_multi.tsfile", "table_aligned.tsfile"]


@pytest.mark.parametrize("name", FILES)
def test_every_point_reads_back(name: str) -> None:
    expected = expected_series(name)
    with TsFileReader(OFFICIAL / name) as r:
        assert r.version == 4
        got_series = {(d, m) for d in r.devices() for m in r.measurements(d)}
        assert got_series == set(expected)
        for device in r.devices():
            data = r.read_series(device)
            for m, (times, values) in data.items():
                dt, pts = expected[(device, m)]
                assert r.schemas(device)[m].data_type == dt
                assert values.dtype == dt.numpy_dtype
                got = list(zip(times.tolist(), values.tolist(), strict=True))
                assert same_points(got, pts), f"{device}.{m}"


@pytest.mark.parametrize("name", FILES)
def test_statistics_match_the_points(name: str) -> None:
    with TsFileReader(OFFICIAL / name) as r:
        for device in r.devices():
            for m, (times, values) in r.read_series(device).items():
                st = r.statistics(device, m)
                want = Statistics.of(st.data_type, times, values)
                assert (st.count, st.start_time, st.end_time) == (
                    want.count,
                    want.start_time,
                    want.end_time,
                )
                assert (st.first_value, st.last_value) == (want.first_value, want.last_value)
                assert (st.min_value, st.max_value) == (want.min_value, want.max_value)
                if st.sum_value is not None:
                    assert st.sum_value == pytest.approx(want.sum_value)


def test_table_model_file_is_aligned_with_tag_device_ids() -> None:
    with TsFileReader(OFFICIAL / "table_aligned.tsfile") as r:
        assert r.devices() == ["sensors.north.a1", "sensors.north.a2", "sensors.south.b1"]
        assert r.device_id("sensors.north.a1").segments == ("sensors", "north", "a1")
        assert all(r.is_aligned(d) for d in r.devices())
        assert set(r.metadata.table_schemas) == {"sensors"}
        tablets = list(r.read_tablets("sensors.north.a1"))
        assert len(tablets) == 1 and tablets[0].aligned
        assert tablets[0].measurements == ["cnt", "hum", "note", "ok", "temp"]


def test_tablets_merge_rows_with_nulls() -> None:
    expected = expected_series("tree_small_plain.tsfile")
    with TsFileReader(OFFICIAL / "tree_small_plain.tsfile") as r:
        (tab,) = list(r.read_tablets("root.sg1.d1"))
        assert tab.timestamps.tolist() == [1000, 1001, 1002, 1003, 1005, 1008]
        for i, m in enumerate(tab.measurements):
            keep = ~tab.null_mask(i)
            got = list(
                zip(tab.timestamps[keep].tolist(), tab.columns[i][keep].tolist(), strict=True)
            )
            assert same_points(got, expected[("root.sg1.d1", m)][1])
        # row 1002 of s_bool was null in the official tablet
        assert tab.null_mask(tab.index_of("s_bool"))[2]


def test_multi_page_chunks_have_page_statistics() -> None:
    with TsFileReader(OFFICIAL / "tree_multi.tsfile") as r:
        (group, *_) = list(r.chunk_groups())
        assert group.device == "root.sg1.d1"
        for chunk in group.chunks:
            pages = chunk.pages()
            assert len(pages) == 3, chunk
            counts = [p.statistics.count for p in pages]
            assert sum(counts) == chunk.statistics.count
            times, _ = chunk.read()
            assert np.all(np.diff(times) > 0)
