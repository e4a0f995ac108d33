"""Test data for the interop tests, written through the official Python client (`iotdb.Session`)
into a real IoTDB or a pipecore node, and read back as comparable point sets.

`Series` data covers every data type IoTDB 2.x has, aligned and non-aligned devices, and nulls;
`points(...)` turns a SELECT on either side into {"device.measurement": [(t, v), ...]} with
values normalised (DATE → yyyymmdd int, numpy scalars → Python, FLOAT rounded to float32), so
the two sides compare with ==.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
from iotdb.utils.IoTDBConstants import TSDataType
from iotdb.utils.Tablet import Tablet as ClientTablet

T = TSDataType
ALL_TYPES = [
    T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT, T.STRING, T.BLOB, T.DATE, T.TIMESTAMP,
]  # fmt: skip
# What a version-3 TsFile (IoTDB 1.x) can hold
V3_TYPES = [T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT]


@attrs.define
class DeviceData:
    """Rows of one device: `values[row][col]` (None = null), as the client's Tablet takes them."""

    device: str
    aligned: bool
    measurements: list[str]
    types: list[TSDataType]
    timestamps: list[int]
    values: list[list[Any]]

    def client_tablet(self) -> ClientTablet:
        return ClientTablet(
            self.device, self.measurements, self.types, self.values, self.timestamps
        )

    def points(self) -> dict[str, list[tuple[int, Any]]]:
        out: dict[str, list[tuple[int, Any]]] = {}
        for j, m in enumerate(self.measurements):
            pts = [
                (t, norm(row[j], self.types[j]))
                for t, row in zip(self.timestamps, self.values, strict=True)
            ]
            out[f"{self.device}.{m}"] = [(t, v) for t, v in pts if v is not None]
        return out


def _value(dtype: TSDataType, rng: np.random.Generator, i: int) -> Any:
    if dtype == T.BOOLEAN:
        return bool(rng.random() < 0.5)
    if dtype == T.INT32:
        return int(rng.integers(-(2**31), 2**31 - 1))
    if dtype in (T.INT64, T.TIMESTAMP):
        return int(rng.integers(-(2**62), 2**62))
    if dtype == T.FLOAT:
        return float(np.float32(rng.integers(-40000, 40000) / 8))
    if dtype == T.DOUBLE:
        return round(float(rng.normal() * 1e6), 4)  # written as a decimal literal in SQL
    if dtype == T.DATE:
        return dt.date(2000 + i % 50, 1 + i % 12, 1 + i % 28)
    if dtype == T.BLOB:
        return bytes(rng.integers(0, 256, int(rng.integers(0, 12))).astype(np.uint8))
    words = ["", "a", "温度", "north-1", "é" * 3, "x" * 40, "comma,semi;"]
    return f"{words[i % len(words)]}{i}"


def device_data(
    device: str,
    n: int,
    *,
    aligned: bool,
    start: int = 1_700_000_000_000,
    step: int = 1000,
    types: Iterable[TSDataType] = ALL_TYPES,
    seed: int = 0,
    null_every: int = 5,
) -> DeviceData:
    """`n` rows of one column per type (named s_<type>), nulls at different rows per column."""
    types = list(types)
    rng = np.random.default_rng(seed)
    values = []
    for i in range(n):
        row = []
        for j, dtype in enumerate(types):
            row.append(None if null_every and (i + j) % null_every == 0 else _value(dtype, rng, i))
        if all(v is None for v in row):
            row[0] = _value(types[0], rng, i)
        values.append(row)
    return DeviceData(
        device,
        aligned,
        [f"s_{t.name.lower()}" for t in types],
        types,
        [start + i * step for i in range(n)],
        values,
    )


def insert(session: Any, data: Iterable[DeviceData], rows_per_call: int = 0) -> None:
    """Write through the official client (tablets; aligned devices as aligned tablets)."""
    for d in data:
        parts = [d]
        if rows_per_call:
            parts = [
                DeviceData(d.device, d.aligned, d.measurements, d.types,
                           d.timestamps[i : i + rows_per_call], d.values[i : i + rows_per_call])
                for i in range(0, len(d.timestamps), rows_per_call)
            ]  # fmt: skip
        for part in parts:
            tablet = part.client_tablet()
            if part.aligned:
                session.insert_aligned_tablet(tablet)
            else:
                session.insert_tablet(tablet)


def literal(v: Any, dtype: TSDataType) -> str:
    """`v` as an SQL literal both IoTDB and pipecore read back as the same value."""
    if v is None:
        return "null"
    if dtype == T.BOOLEAN:
        return "true" if v else "false"
    if dtype in (T.TEXT, T.STRING):
        return "'" + v + "'"
    if dtype == T.BLOB:
        return "X'" + v.hex() + "'"
    if dtype == T.DATE:
        return f"'{v.isoformat()}'"
    return repr(v)


def create_statements(data: Iterable[DeviceData]) -> list[str]:
    """CREATE [ALIGNED] TIMESERIES for the devices (default encodings and compression)."""
    out = []
    for d in data:
        if d.aligned:
            cols = ", ".join(f"{m} {t.name}" for m, t in zip(d.measurements, d.types, strict=True))
            out.append(f"create aligned timeseries {d.device}({cols})")
        else:
            out += [
                f"create timeseries {d.device}.{m} with datatype={t.name}"
                for m, t in zip(d.measurements, d.types, strict=True)
            ]
    return out


def insert_statements(data: Iterable[DeviceData], rows_per_statement: int = 200) -> list[str]:
    out = []
    for d in data:
        head = f"insert into {d.device}(time, {', '.join(d.measurements)})"
        head += " aligned values " if d.aligned else " values "
        for i in range(0, len(d.timestamps), rows_per_statement):
            rows = [
                "("
                + ", ".join([str(t)] + [literal(v, ty) for v, ty in zip(row, d.types, strict=True)])
                + ")"
                for t, row in zip(
                    d.timestamps[i : i + rows_per_statement],
                    d.values[i : i + rows_per_statement],
                    strict=True,
                )
            ]
            out.append(head + ", ".join(rows))
    return out


def expected(data: Iterable[DeviceData]) -> dict[str, list[tuple[int, Any]]]:
    out: dict[str, list[tuple[int, Any]]] = {}
    for d in data:
        out.update(d.points())
    return out


def norm(v: Any, dtype: Any = None) -> Any:
    """A value as both sides of a comparison should hold it."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        if isinstance(v, np.float32):
            return float(v)
        v = v.item()
    if isinstance(v, dt.date):
        return v.year * 10000 + v.month * 100 + v.day
    if dtype is not None and int(dtype) == int(T.FLOAT) and isinstance(v, float):
        return struct.unpack("f", struct.pack("f", v))[0]
    if dtype is not None and int(dtype) == int(T.DATE) and isinstance(v, int):
        return v
    return v


def select_points(rows_of: Any, pattern: str) -> dict[str, list[tuple[int, Any]]]:
    """{series: points} of ``select * from <pattern>`` through `rows_of(sql) -> (names, rows)`
    (rows with the time first). Series with no point are left out."""
    names, rows = rows_of(f"select * from {pattern}")
    out: dict[str, list[tuple[int, Any]]] = {}
    for j, name in enumerate(names[1:], start=1):
        pts = [(int(r[0]), norm(r[j])) for r in rows if r[j] is not None]
        if pts:
            out[name] = pts
    return out
