"""Format version 3 (IoTDB 1.x): a file built by hand from the Java layout, our writer's bytes,
and reading back. The official 2.5.0 reader segfaults on v3 files, so it is never used here."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from test_tsfile_format import _java_murmur

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileReader, TsFileWriter, TSRecord
from pipecore_storage.tsfile.constants import MetadataIndexNodeType
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding


def _uvar(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _vstr(s: str) -> bytes:
    raw = s.encode()
    return _uvar(len(raw) << 1) + raw


def _java_bloom(keys: list[str], entries: int) -> bytes:
    """BloomFilter.getEmptyBloomFilter(0.05, entries) + add(keys), serialised as in v3."""
    size = max(256, int(-entries * math.log(0.05) / math.log(2) ** 2) + 1)
    hashes = min(8, int(-math.log(0.05) / math.log(2)) + 1)
    bits = [0] * size
    for key in keys:
        for seed in (5, 7, 11, 19, 31, 37, 43, 59)[:hashes]:
            h = _java_murmur(key.encode(), seed)
            bits[abs(0 if h == -(2**31) else h) % size] = 1
    raw = bytes(sum(bits[8 * i + j] << j for j in range(8)) for i in range((size + 7) // 8))
    raw = raw.rstrip(b"\x00")
    return _uvar(len(raw)) + raw + _uvar(size) + _uvar(hashes)


def hand_built_v3() -> bytes:
    """root.sg1.d1.s1 INT32 PLAIN UNCOMPRESSED = {1000: 7, 1001: -1, 1003: 300}, Java layout."""
    head = b"TsFile\x03"
    group = b"\x00" + _vstr("root.sg1.d1")  # v3: the device id is the full path
    # TS_2DIFF times 1000, 1001, 1003: 2 deltas, width 1, minDelta 1, first 1000, bits 0,1
    times = struct.pack(">iiqq", 2, 1, 1, 1000) + b"\x40"
    values = b"\x0e\x01\xd8\x04"  # PLAIN INT32 = zigzag varints of 7, -1, 300
    body = _uvar(len(times)) + times + values
    page = _uvar(len(body)) + _uvar(len(body)) + body  # single page: no statistics
    chunk_offset = len(head) + len(group)
    chunk = b"\x05" + _vstr("s1") + _uvar(len(page)) + bytes([1, 0, 0]) + page
    meta_offset = chunk_offset + len(chunk)
    stats = _uvar(3) + struct.pack(">qqiiiiq", 1000, 1003, -1, 300, 7, 300, 306)
    chunk_list = struct.pack(">q", chunk_offset)
    tsm = b"\x00" + _vstr("s1") + b"\x01" + _uvar(len(chunk_list)) + stats + chunk_list
    tsm_offset = meta_offset + 1
    leaf_offset = tsm_offset + len(tsm)
    leaf = _uvar(1) + _vstr("s1") + struct.pack(">qqb", tsm_offset, leaf_offset, 3)
    meta_start = leaf_offset + len(leaf)
    root = _uvar(1) + _vstr("root.sg1.d1") + struct.pack(">qqb", leaf_offset, meta_start, 1)
    meta = root + struct.pack(">q", meta_offset) + _java_bloom(["root.sg1.d1.s1"], 1)
    return (head + group + chunk + b"\x02" + tsm + leaf + meta + struct.pack(">i", len(meta))
            + b"TsFile")  # fmt: skip


def test_reads_a_hand_built_v3_file(tmp_path: Path) -> None:
    path = tmp_path / "v3.tsfile"
    path.write_bytes(hand_built_v3())
    with TsFileReader(path) as r:
        assert r.version == 3
        assert r.devices() == ["root.sg1.d1"]
        assert not r.is_aligned("root.sg1.d1")
        t, v = r.read_series("root.sg1.d1")["s1"]
        assert t.tolist() == [1000, 1001, 1003] and v.tolist() == [7, -1, 300]
        st = r.statistics("root.sg1.d1", "s1")
        assert (st.min_value, st.max_value, st.sum_value) == (-1, 300, 306)
        assert r.contains("root.sg1.d1", "s1") and not r.contains("root.sg1.d1", "s2")
        assert r.metadata.properties == {} and r.metadata.table_schemas == {}


def test_our_v3_writer_writes_the_java_layout_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "ours.tsfile"
    schema = MeasurementSchema(
        "s1", TSDataType.INT32, TSEncoding.PLAIN, CompressionType.UNCOMPRESSED
    )
    with TsFileWriter(path, format_version=3) as w:
        w.register_timeseries("root.sg1.d1", schema)
        for t, v in ((1000, 7), (1001, -1), (1003, 300)):
            w.write_record(TSRecord(t, "root.sg1.d1").add_point("s1", v))
    assert path.read_bytes() == hand_built_v3()


def _many(path: Path, version: int, devices: int, aligned: bool) -> dict:
    schemas = [MeasurementSchema("a", TSDataType.INT64), MeasurementSchema("b", TSDataType.TEXT)]
    times = np.arange(1, 4, dtype=np.int64)
    want = {}
    with TsFileWriter(path, format_version=version) as w:
        for i in range(devices):
            text = np.empty(3, dtype=object)
            text[:] = [f"v{i}", "ü", ""]
            tab = Tablet(f"root.sg{i % 4}.dev.x{i:03d}", schemas, times, [times * i, text],
                         [None, np.array([False, True, False])], aligned)  # fmt: skip
            w.write_tablet(tab)
            want[tab.device] = tab
    return want


@pytest.mark.parametrize("aligned", [False, True], ids=["nonaligned", "aligned"])
def test_v3_round_trip_with_an_internal_device_level(tmp_path: Path, aligned: bool) -> None:
    path = tmp_path / "v3many.tsfile"
    want = _many(path, 3, 300, aligned)
    data = path.read_bytes()
    assert data[6] == 3
    # chunk group header: marker + vstr(full path) (v4 would start with a segment count)
    first = sorted(want)[0]
    assert data[7:8] + data[8 : 8 + len(_vstr(first))] == b"\x00" + _vstr(first)
    with TsFileReader(path) as r:
        (root,) = r.metadata.roots.values()
        assert list(r.metadata.roots) == [""]  # v3: one device tree, no tables
        assert root.node_type == MetadataIndexNodeType.INTERNAL_DEVICE
        assert r.devices() == sorted(want)
        for device, tab in want.items():
            assert r.is_aligned(device) is aligned
            got = r.read_series(device)
            assert got["a"][1].tolist() == tab.columns[0].tolist()
            assert (
                got["b"][0].tolist() == [1, 3]
                and got["b"][1].tolist() == tab.columns[1][[0, 2]].tolist()
            )


def test_v3_and_v4_hold_the_same_data(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsfile", tmp_path / "b.tsfile"
    _many(a, 3, 5, False)
    _many(b, 4, 5, False)
    with TsFileReader(a) as ra, TsFileReader(b) as rb:
        assert ra.devices() == rb.devices()
        for d in ra.devices():
            for m, (t, v) in ra.read_series(d).items():
                t2, v2 = rb.read_series(d)[m]
                assert t.tolist() == t2.tolist() and v.tolist() == v2.tolist()
        # v3 device ids are one full path; v4 splits the path into segments
        assert ra.device_id("root.sg0.dev.x000").segments == ("root.sg0.dev.x000",)
        assert rb.device_id("root.sg0.dev.x000").segments == ("root.sg0.dev", "x000")
