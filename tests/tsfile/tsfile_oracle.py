"""The official `tsfile` package (2.5.0, C++ core) as a test oracle.

Reading runs in a subprocess: a file the official reader cannot parse may crash it (it
segfaults on version-3 files), and that must fail a test, not kill the test run. Never hand
it a v3 file.
"""

from __future__ import annotations

import datetime
import pickle
import struct
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType

# Times the official query API can reach (query_timeseries takes a closed range; keep tests inside)
OFFICIAL_MIN_TIME = -(2**62)
OFFICIAL_MAX_TIME = 2**62


class OfficialReader:
    """A long-lived subprocess running the official reader (one per test session).

    ``read(paths)`` returns path -> device -> {"schemas": {m: (type, enc, comp)},
    "points": {m: [(t, v), ...]}} (DATE values as yyyymmdd ints). If the subprocess dies (a crash of
    the official reader), the call fails with AssertionError and the next call starts a new
    one.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        code = _SERVER_LOOP.replace("READ_BODY", textwrap.indent(_READ_BODY, "        "))
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def read(self, paths: Sequence[str]) -> dict[str, dict[str, Any]]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        payload = pickle.dumps([str(p) for p in paths])
        try:
            proc.stdin.write(struct.pack(">I", len(payload)) + payload)  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            head = proc.stdout.read(4)  # type: ignore[union-attr]
            if len(head) < 4:
                raise BrokenPipeError
            (n,) = struct.unpack(">I", head)
            status, result = pickle.loads(proc.stdout.read(n))  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            rc = proc.wait(timeout=10)
            err = proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            self.close()
            raise AssertionError(f"official reader died (rc {rc}) on {paths}: {err}") from None
        if status != "ok":
            raise AssertionError(f"official reader failed on {paths}: {result}")
        return result

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait(timeout=10)


_READ_BODY = """
out = {}
for p in paths:
    r = tsfile.TsFileReader(p)
    res = {}
    for dev, ds in r.get_all_timeseries_schemas().items():
        names = [t.timeseries_name for t in ds.timeseries_list]
        kinds = {t.timeseries_name: (int(t.data_type), int(t.encoding_type),
                 int(t.compression_type)) for t in ds.timeseries_list}
        cols = {n: [] for n in names}
        rs = r.query_timeseries(dev, names, -(2**62), 2**62)
        # the result only has columns for series with data (an all-null aligned column is
        # left out): map names to result columns (1-based, column 1 = time)
        columns = rs.get_metadata().get_column_list()
        where = [(n, columns.index(dev + "." + n) + 1) for n in names
                 if dev + "." + n in columns]
        while rs.next():
            t = rs.get_value_by_index(1)
            for n, i in where:
                if not rs.is_null_by_index(i):
                    v = rs.get_value_by_index(i)
                    if isinstance(v, datetime.date):
                        v = v.year * 10000 + v.month * 100 + v.day
                    cols[n].append((t, v))
        rs.close()
        res[dev] = {"schemas": kinds, "points": cols}
    r.close()
    out[p] = res
"""

_SERVER_LOOP = """
import datetime, pickle, struct, sys
import tsfile
inp, outp = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    paths = pickle.loads(inp.read(struct.unpack(">I", head)[0]))
    try:
READ_BODY
        reply = ("ok", out)
    except Exception as e:
        reply = ("error", repr(e))
    data = pickle.dumps(reply)
    outp.write(struct.pack(">I", len(data)) + data)
    outp.flush()
"""


def points_of(times: np.ndarray, values: np.ndarray) -> list[tuple[int, Any]]:
    return list(zip(times.tolist(), values.tolist(), strict=True))


def tablet_points(tablet: Tablet) -> dict[str, list[tuple[int, Any]]]:
    """measurement -> non-null (time, value) points of a (sorted) tablet."""
    out = {}
    tab = tablet.sorted()
    for i, s in enumerate(tab.schemas):
        keep = ~tab.null_mask(i)
        out[s.name] = points_of(tab.timestamps[keep], tab.columns[i][keep])
    return out


def same_points(a: list[tuple[int, Any]], b: list[tuple[int, Any]]) -> bool:
    """Equal point lists; floats compared bit-exactly except NaN == NaN."""
    if len(a) != len(b):
        return False
    for (ta, va), (tb, vb) in zip(a, b, strict=True):
        if ta != tb:
            return False
        if isinstance(va, float) and isinstance(vb, float):
            if not (va == vb or (va != va and vb != vb)):
                return False
        elif va != vb:
            return False
    return True


def write_official(
    path: str, device: str, schemas: list[MeasurementSchema], tablet: Tablet
) -> None:
    """Write a tree-model (non-aligned) tablet with the official writer."""
    import tsfile as off

    w = off.TsFileWriter(str(path))
    w.register_device(
        off.DeviceSchema(
            device,
            [
                off.TimeseriesSchema(
                    s.name,
                    off.TSDataType(int(s.data_type)),
                    off.TSEncoding(int(s.encoding)),
                    off.Compressor(int(s.compression)),
                )
                for s in schemas
            ],
        )
    )
    n = tablet.row_count
    tab = off.Tablet(
        [s.name for s in schemas], [off.TSDataType(int(s.data_type)) for s in schemas], n
    )
    tab.set_table_name(device)
    for r, t in enumerate(tablet.timestamps.tolist()):
        tab.add_timestamp(r, t)
    for j, s in enumerate(schemas):
        mask = tablet.null_mask(j)
        col = tablet.columns[j]
        for r in range(n):
            if not mask[r]:
                tab.add_value_by_index(j, r, _official_value(col[r], s.data_type))
    w.write_tablet(tab)
    w.close()


def _official_value(v: Any, dt: TSDataType) -> Any:
    if dt == TSDataType.DATE:
        v = int(v)
        return datetime.date(v // 10000, v // 100 % 100, v % 100)
    return v.item() if isinstance(v, np.generic) else v
