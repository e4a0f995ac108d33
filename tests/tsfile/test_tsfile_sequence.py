"""The low-level sequential reader: chunk groups -> chunks -> pages."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileConfig, TsFileReader, TsFileWriter, scan_chunk_groups
from pipecore_storage.types import TSDataType


def _file(path: Path) -> dict[str, Tablet]:
    schemas = [MeasurementSchema("a", TSDataType.INT32), MeasurementSchema("b", TSDataType.DOUBLE)]
    written = {}
    with TsFileWriter(path, config=TsFileConfig(max_points_per_page=4)) as w:
        for k in range(2):
            times = np.arange(10 * k, 10 * k + 10, dtype=np.int64)
            for device, aligned in (("root.s.plain", False), ("root.s.vec", True)):
                mask = (times % 3 == 0) if aligned else None
                tab = Tablet(device, schemas, times, [times.astype(np.int32), times / 2],
                             [None, mask], aligned)  # fmt: skip
                w.write_tablet(tab)
                written[f"{device}/{k}"] = tab
            w.flush_chunk_groups()
    return written


def test_chunk_groups_in_file_order_with_pages(tmp_path: Path) -> None:
    path = tmp_path / "s.tsfile"
    written = _file(path)
    with TsFileReader(path) as r:
        groups = list(r.chunk_groups())
        assert [g.device for g in groups] == ["root.s.plain", "root.s.vec"] * 2
        assert [g.aligned for g in groups] == [False, True, False, True]
        offsets = [g.offset for g in groups]
        assert offsets[0] == 7 and offsets == sorted(offsets)
        assert all(a.end_offset == b.offset for a, b in itertools.pairwise(groups))
        plain = groups[0]
        assert [c.measurement for c in plain.chunks] == ["a", "b"]
        chunk = plain.chunks[0]
        assert len(chunk.pages()) == 3  # 10 points, 4 a page
        assert [p.statistics.count for p in chunk.pages()] == [4, 4, 2]
        t, v = chunk.pages()[1].read()
        assert t.tolist() == [4, 5, 6, 7] and v.tolist() == [4, 5, 6, 7]
        raw = chunk.raw()
        assert raw[0] == 0x01 and len(raw) == chunk.end_offset - chunk.offset
        vec = groups[3]
        assert [c.measurement for c in vec.chunks] == ["", "a", "b"]
        assert vec.chunks[0].is_time_chunk and vec.chunks[1].is_value_chunk
        tab = vec.to_tablet()
        assert tab.equals(written["root.s.vec/1"])
        assert groups[2].to_tablet().equals(written["root.s.plain/1"])
        stats = {c.offset: c.statistics for g in groups for c in g.chunks}
        tsm = r.timeseries_metadata("root.s.vec")["b"]
        assert [stats[c.offset] for c in tsm.chunks] == [c.statistics for c in tsm.chunks]


def test_scanning_without_the_index_computes_the_same_statistics(tmp_path: Path) -> None:
    path = tmp_path / "s.tsfile"
    _file(path)
    with TsFileReader(path) as r:
        indexed = {c.offset: c.statistics for g in r.chunk_groups() for c in g.chunks}
        data = path.read_bytes()
    scanned = list(scan_chunk_groups(data, str(path), 4))  # stops at the separator
    assert len(scanned) == 4
    got = {c.offset: c.statistics for g in scanned for c in g.chunks}
    assert got == indexed
