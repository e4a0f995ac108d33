"""Property tests: random tablets round-trip ours -> ours (v3, v4), ours -> official,
official -> ours."""

from __future__ import annotations

import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import tsfile_tablets
from tsfile_oracle import same_points, tablet_points, write_official

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileConfig, TsFileReader, TsFileWriter
from pipecore_storage.tsfile import encoding as codecs
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

_SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
_CONFIGS = st.sampled_from(
    [TsFileConfig(), TsFileConfig(max_points_per_page=7), TsFileConfig(page_size_bytes=64)]
)


def _tmp() -> str:
    """A fresh path that does not exist yet (the official writer refuses existing files)."""
    fd, path = tempfile.mkstemp(suffix=".tsfile")
    os.close(fd)
    os.unlink(path)
    return path


def _read_points(path: str, device: str) -> dict[str, list]:
    with TsFileReader(path) as r:
        return {
            m: list(zip(t.tolist(), v.tolist(), strict=True))
            for m, (t, v) in r.read_series(device).items()
        }


def _check_ours(path: str, tablets: list[Tablet], version: int) -> None:
    want: dict[str, list] = {}
    for tab in tablets:
        for m, pts in tablet_points(tab).items():
            want.setdefault(m, []).extend(pts)
    want = {m: pts for m, pts in want.items() if pts}
    device = tablets[0].device
    with TsFileReader(path) as r:
        assert r.version == version
        if not want and not tablets[0].aligned:
            assert r.devices() == []  # nothing but nulls: no chunk at all
            return
        assert r.is_aligned(device) == tablets[0].aligned
        got = {m: list(zip(t.tolist(), v.tolist(), strict=True))
               for m, (t, v) in r.read_series(device).items()}  # fmt: skip
        # an aligned column that is null everywhere keeps an (empty) series, as in Java
        assert set(want) <= set(got)
        for m, pts in got.items():
            assert same_points(pts, want.get(m, [])), m
        merged = list(r.read_tablets(device, max_rows=50))
        assert all(0 < t.row_count <= 50 for t in merged)
        rows = sum(t.row_count for t in merged)
        assert rows == len({t for pts in want.values() for t, _ in pts})


@_SETTINGS
@given(st.data(), st.sampled_from([3, 4]), _CONFIGS)
def test_ours_to_ours(data, version: int, config: TsFileConfig) -> None:
    first = data.draw(tsfile_tablets(version=version))
    # a second write continues after the first one's last time (the writer's rule)
    last = int(first.timestamps.max())
    path = _tmp()
    try:
        with TsFileWriter(path, config=config, format_version=version) as w:
            w.write_tablet(first)
            tablets = [first]
            if last < 2**63 - 100 and data.draw(st.booleans()):
                w.flush_chunk_groups()
                n = data.draw(st.integers(1, 20))
                times = np.arange(last + 1, last + 1 + n, dtype=np.int64)
                second = first.take(np.zeros(n, dtype=np.intp))
                second = Tablet(
                    first.device,
                    first.schemas,
                    times,
                    second.columns,
                    second.null_masks,
                    first.aligned,
                )
                w.write_tablet(second)
                tablets.append(second)
        _check_ours(path, [t.sorted() for t in tablets], version)
    finally:
        if os.path.exists(path):
            os.unlink(path)


@settings(_SETTINGS, max_examples=40)
@given(tsfile_tablets(official_safe=True), _CONFIGS)
def test_ours_to_official(official_reader, tablet: Tablet, config: TsFileConfig) -> None:
    path = _tmp()
    try:
        with TsFileWriter(path, config=config) as w:
            w.write_tablet(tablet)
        got = official_reader.read([path])[path]
        want = {m: pts for m, pts in tablet_points(tablet).items() if pts}
        if not want:
            return
        points = got[tablet.device]["points"]
        for m, pts in want.items():
            assert same_points(points.get(m, []), pts), m
    finally:
        if os.path.exists(path):
            os.unlink(path)


_OFFICIAL_PAIRS = [
    (t, e)
    for t in TSDataType
    if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)
    for e in (TSEncoding.PLAIN, TSEncoding.TS_2DIFF, TSEncoding.GORILLA, TSEncoding.DICTIONARY)
    if codecs.writable(t, e)
    and not (t in (TSDataType.FLOAT, TSDataType.DOUBLE) and e == TSEncoding.TS_2DIFF)
]


@st.composite
def _official_tablets(draw) -> Tablet:
    tab = draw(tsfile_tablets(official_safe=True, max_columns=4))
    tab = tab.sorted()
    schemas = []
    for s in tab.schemas:
        dt, e = draw(st.sampled_from(_OFFICIAL_PAIRS))
        schemas.append(MeasurementSchema(s.name, dt, e, s.compression))
    cols = []
    for i, s in enumerate(schemas):
        cols.append(_convert(tab.columns[i], tab.schemas[i].data_type, s.data_type, tab.row_count))
    return Tablet(tab.device, schemas, tab.timestamps, cols, tab.null_masks)


def _convert(col: np.ndarray, src: TSDataType, dst: TSDataType, n: int) -> np.ndarray:
    """Deterministic values of `dst` derived from a column (keeps the example shrinkable)."""
    base = np.arange(n, dtype=np.int64) * 7919
    if dst.is_binary:
        out = np.empty(n, dtype=object)
        out[:] = [f"v{x}" if dst != TSDataType.BLOB else f"v{x}".encode() for x in base.tolist()]
        return out
    if dst == TSDataType.DATE:
        return (20240101 + base % 28).astype(np.int32)
    if dst == TSDataType.BOOLEAN:
        return base % 3 == 0
    if dst.numpy_dtype.kind == "f":
        return (base / 8).astype(dst.numpy_dtype)
    return (base - 10**5).astype(dst.numpy_dtype)


@settings(_SETTINGS, max_examples=25)
@given(_official_tablets())
def test_official_to_ours(tablet: Tablet) -> None:
    device = "root.official.d1"
    path = _tmp()
    try:
        write_official(path, device, tablet.schemas, tablet)
        want = {m: pts for m, pts in tablet_points(tablet).items() if pts}
        if not want:  # only nulls: the official writer writes no chunk at all
            with TsFileReader(path) as r:
                assert r.devices() == []
            return
        got = _read_points(path, device)
        assert set(got) == set(want)
        for m, pts in want.items():
            assert same_points(got[m], pts), m
        with TsFileReader(path) as r:
            for s in tablet.schemas:
                if s.name in want:
                    assert r.schemas(device)[s.name] == s
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_compressions_are_all_exercised() -> None:
    # the strategies draw from every compression both official readers understand
    from strategies import _TSFILE_COMPRESSIONS

    assert set(_TSFILE_COMPRESSIONS) == {
        CompressionType.UNCOMPRESSED, CompressionType.SNAPPY, CompressionType.GZIP,
        CompressionType.LZ4, CompressionType.ZSTD, CompressionType.LZMA2,
    }  # fmt: skip
