"""CHIMP, SPRINTZ and RLBE (read only): pages written by the official writer (tsfile 2.5,
C++ core) decode to what the official reader returns."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from tsfile_page_walker import chunks

from pipecore_storage.tsfile.encoding import decode, decode_times, read_uvar
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E

tsfile = pytest.importorskip("tsfile", reason="the official tsfile package is the oracle")

# the C++ 2.5 writer's accepted pairs (tsfile-format.md §3.9)
CASES = [
    (t, e)
    for e in (E.CHIMP, E.SPRINTZ, E.RLBE)
    for t in (T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.DATE, T.TIMESTAMP)
    if not (e is E.SPRINTZ and t in (T.DATE, T.TIMESTAMP))
]


def _values(data_type: T, n: int) -> list:
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.integers(-40, 40, n))
    walk[50:70] = walk[50]  # a run of repeats
    if data_type is T.DATE:
        return [20240101 + int(v % 28) for v in walk]
    if data_type in (T.FLOAT, T.DOUBLE):
        return [float(v) / 8 for v in walk]
    if data_type is T.INT32:
        walk[3] = 2**31 - 1
    return [int(v) for v in walk]


def _official(path: Path, data_type: T, encoding: E, values: list) -> list:
    ts = tsfile
    w = ts.TsFileWriter(str(path))
    ts.set_tsfile_config({"page_writer_max_point_num_": 100})
    schema = ts.TimeseriesSchema(
        "s", ts.TSDataType(int(data_type)), ts.TSEncoding(int(encoding)), ts.Compressor.UNCOMPRESSED
    )
    w.register_device(ts.DeviceSchema("root.sg.d", [schema]))
    tab = ts.Tablet(["s"], [ts.TSDataType(int(data_type))], len(values))
    tab.set_table_name("root.sg.d")
    for i, v in enumerate(values):
        tab.add_timestamp(i, 1000 + i)
        if data_type is T.DATE:  # the official Tablet takes datetime.date
            v = datetime.date(v // 10000, v // 100 % 100, v % 100)
        tab.add_value_by_index(0, i, v)
    w.write_tablet(tab)
    w.close()
    r = ts.TsFileReader(str(path))
    rs = r.query_timeseries("root.sg.d", ["s"], -(2**62), 2**62)
    out = []
    while rs.next():
        out.append(rs.get_value_by_index(2))
    rs.close()
    r.close()
    return out


@pytest.mark.parametrize(
    ("data_type", "encoding"), CASES, ids=[f"{t.name}-{e.name}" for t, e in CASES]
)
def test_official_pages_decode_like_the_official_reader(
    tmp_path: Path, data_type: T, encoding: E
) -> None:
    values = _values(data_type, 300)
    path = tmp_path / "f.tsfile"
    try:
        oracle = _official(path, data_type, encoding, values)
    except Exception as exc:  # the official writer rejects the pair: nothing to compare
        pytest.skip(f"official writer refused {data_type.name}/{encoding.name}: {exc}")
    ours = []
    for _dev, _name, dtype, enc, _marker, pages in chunks(path):
        assert (dtype, enc) == (data_type, encoding)
        for body in pages:
            tlen, pos = read_uvar(body, 0)
            times = decode_times(body[pos : pos + tlen])
            ours += decode(body[pos + tlen :], dtype, enc, times.size).tolist()
    if data_type is T.DATE:
        oracle = [
            v.year * 10000 + v.month * 100 + v.day if hasattr(v, "year") else v for v in oracle
        ]
    assert ours == oracle
