"""Test helpers: pipe-protocol bodies written by hand from the reference's byte layouts.

Independent of pipecore's codecs on purpose (plain `struct`), so tests that compare the two
can fail. Layout references are to ../shared/reference/iotdb-pipe-protocol.md.
"""

from __future__ import annotations

import struct


def i8(v: int) -> bytes:
    return struct.pack(">b", v)


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def f32(v: float) -> bytes:
    return struct.pack(">f", v)


def f64(v: float) -> bytes:
    return struct.pack(">d", v)


def string(v: str | bytes | None) -> bytes:
    """§3.1 String: i32 length (-1 for null) + UTF-8 bytes."""
    if v is None:
        return i32(-1)
    data = v.encode() if isinstance(v, str) else v
    return i32(len(data)) + data


binary = string


def string_map(m: dict[str, str]) -> bytes:
    return i32(len(m)) + b"".join(string(k) + string(v) for k, v in m.items())


def schema(name: str, dt: int, enc: int = 0, comp: int = 0) -> bytes:
    """tsfile MeasurementSchema.serializeTo with no props."""
    return string(name) + bytes([dt, enc, comp]) + i32(0)


def plan_node_tail(plan_node_id: str = "pid") -> bytes:
    """PlanNodeId String + i32 childrenCount 0."""
    return string(plan_node_id) + i32(0)


def insert_tablet_node(
    device: str,
    names: list[str],
    types: list[int],
    times: list[int],
    columns: list[bytes],
    bitmaps: list[bytes | None] | None = None,
    aligned: bool = False,
    schemas: list[bytes] | None = None,
) -> bytes:
    """§3.5 InsertTabletNode (type 13); `columns` are the value bytes per column."""
    out = i16(13) + string(device) + i32(len(names))
    if schemas is not None:
        out += b"\x01" + b"".join(schemas)
    else:
        out += b"\x00" + b"".join(string(n) for n in names)
    out += bytes(t & 0xFF for t in types) + i32(len(times)) + b"".join(i64(t) for t in times)
    if bitmaps is None:
        out += b"\x00"
    else:
        out += b"\x01" + b"".join(b"\x00" if b is None else b"\x01" + b for b in bitmaps)
    out += b"".join(columns) + (b"\x01" if aligned else b"\x00")
    return out + plan_node_tail()


def row_fields(
    time: int,
    device: str,
    names: list[str],
    typed_values: list[bytes],
    infer: bool = False,
    aligned: bool = False,
) -> bytes:
    """§3.5 InsertRowNode fields (no type short, no PlanNodeId); typed_values: type byte+value."""
    out = i64(time) + string(device) + i32(len(names)) + b"\x00"
    out += b"".join(string(n) for n in names) + b"".join(typed_values)
    return out + (b"\x01" if infer else b"\x00") + (b"\x01" if aligned else b"\x00")


def insert_row_node(*args, **kwargs) -> bytes:
    return i16(14) + row_fields(*args, **kwargs) + plan_node_tail()


def insert_rows_node(rows: list[bytes]) -> bytes:
    out = i16(15) + i32(len(rows)) + b"".join(rows)
    return out + b"".join(i32(i) for i in range(len(rows))) + plan_node_tail()


def tablet_raw(
    device: str, names: list[str], types: list[int], times: list[int], columns: list[bytes]
) -> bytes:
    """§3.4 Tablet.serialize without bitmaps; `columns` are value bytes (flags included)."""
    out = string(device) + i32(len(times)) + b"\x01" + i32(len(names))
    out += b"".join(b"\x01" + schema(n, t) for n, t in zip(names, types, strict=True))
    out += b"\x01" + b"".join(i64(t) for t in times) + b"\x00"
    out += b"\x01" + b"".join(b"\x01" + c for c in columns)
    return out
