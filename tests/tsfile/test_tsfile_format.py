"""Byte-level layout: primitives, device ids, bloom filter, statistics, index area."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tsfile_conformance import OFFICIAL, expected_series

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile import DeviceID, TsFileConfig, TsFileReader, TsFileWriter
from pipecore_storage.tsfile._bytes import ByteReader, svar_bytes, uvar_bytes, vstr_bytes
from pipecore_storage.tsfile.bloom import BloomFilter, murmur128_hash
from pipecore_storage.tsfile.constants import MetadataIndexNodeType
from pipecore_storage.tsfile.metadata import MetadataIndexNode, TimeseriesMetadata
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

# ---------------------------------------------------------------------- primitives


def test_varints_and_strings_match_the_spec_examples() -> None:
    assert svar_bytes(-1) == b"\x01"
    assert svar_bytes(3) == b"\x06"
    assert uvar_bytes(256) == b"\x80\x02"
    assert uvar_bytes(8194) == b"\x82\x40"
    assert vstr_bytes(None) == b"\x01"
    assert vstr_bytes("") == b"\x00"
    assert vstr_bytes("root.sg1") == b"\x10root.sg1"


@given(st.integers(0, 2**32 - 1), st.integers(-(2**31), 2**31 - 1))
@settings(max_examples=200)
def test_varints_round_trip(u: int, s: int) -> None:
    r = ByteReader(uvar_bytes(u) + svar_bytes(s))
    assert (r.uvar(), r.svar(), r.remaining) == (u, s, 0)


def test_reader_errors_name_path_and_offset() -> None:
    r = ByteReader(b"\x00\x00\x10ab", "f.tsfile", pos=2, base=100)
    with pytest.raises(CorruptFileError) as info:
        r.vstr("measurement id")
    assert info.value.path == "f.tsfile" and info.value.offset == 102
    assert "measurement id" in str(info.value)
    with pytest.raises(CorruptFileError):
        ByteReader(b"\xff\xff\xff\xff\xff\xff").uvar()


# ---------------------------------------------------------------------- device ids


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("plain_d1", ("plain_d1",)),
        ("root.x", ("root", "x")),
        ("root.sg1.d1", ("root.sg1", "d1")),
        ("root.a.b.c.d", ("root.a.b", "c", "d")),
    ],
)
def test_tree_paths_split_like_the_official_writer(path: str, segments: tuple) -> None:
    device = DeviceID.from_path(path)
    assert device.segments == segments
    assert str(device) == path
    assert DeviceID.from_path(path, version=3).serialize(3) == vstr_bytes(path)


def test_device_id_serialisation_and_order() -> None:
    assert DeviceID.from_path("root.sg1.d1").serialize(4) == b"\x02\x10root.sg1\x04d1"
    assert DeviceID(("t", "a", None, None)).serialize(4) == b"\x02\x02t\x02a"  # trailing nulls
    ids = [DeviceID(("t", "b")), DeviceID(("t",)), DeviceID(("t", None)), DeviceID(("t", "a"))]
    ordered = sorted(ids, key=DeviceID.sort_key)
    assert [d.segments for d in ordered] == [("t",), ("t", None), ("t", "a"), ("t", "b")]
    # Java compares UTF-16 code units: a supplementary character sorts before U+FFFF
    a, b = DeviceID(("\U00010000",)), DeviceID(("\uffff",))
    assert sorted([b, a], key=DeviceID.sort_key) == [a, b]


# ---------------------------------------------------------------------- bloom filter


def _java_murmur(key: bytes, seed: int) -> int:
    """A direct transcription of Java's Murmur128Hash.innerHash on Python ints."""
    m = 2**64 - 1

    def rotl(v, n):
        return ((v << n) | (v >> (64 - n))) & m

    def fmix(k):
        k ^= k >> 33
        k = (k * 0xFF51AFD7ED558CCD) & m
        k ^= k >> 33
        k = (k * 0xC4CEB9FE1A85EC53) & m
        return k ^ (k >> 33)

    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    h1 = h2 = seed & m
    n = len(key)
    for i in range(n // 16):
        k1 = int.from_bytes(key[16 * i : 16 * i + 8], "little")
        k2 = int.from_bytes(key[16 * i + 8 : 16 * i + 16], "little")
        h1 ^= (rotl((k1 * c1) & m, 31) * c2) & m
        h1 = (rotl(h1, 27) + h2) & m
        h1 = (h1 * 5 + 0x52DCE729) & m
        h2 ^= (rotl((k2 * c2) & m, 33) * c1) & m
        h2 = (rotl(h2, 31) + h1) & m
        h2 = (h2 * 5 + 0x38495AB5) & m
    tail = key[(n // 16) * 16 :]
    signed = [b - 256 if b > 127 else b for b in tail]  # Java bytes are signed
    k1 = k2 = 0
    for j, b in enumerate(signed):
        if j < 8:
            k1 ^= (b << (8 * j)) & m
        else:
            k2 ^= (b << (8 * (j - 8))) & m
    if len(tail) > 8:
        h2 ^= (rotl((k2 * c2) & m, 33) * c1) & m
    if tail:
        h1 ^= (rotl((k1 * c1) & m, 31) * c2) & m
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & m
    h2 = (h2 + h1) & m
    h1, h2 = fmix(h1), fmix(h2)
    h1 = (h1 + h2) & m
    h2 = (h2 + h1) & m
    low = (h1 + h2) & 0xFFFFFFFF
    return low - 2**32 if low >= 2**31 else low


@given(st.lists(st.text(max_size=40), min_size=1, max_size=20), st.sampled_from([5, 7, 59]))
@settings(max_examples=60)
def test_vectorised_murmur_equals_java(keys: list[str], seed: int) -> None:
    raw = [k.encode("utf-8", "surrogatepass") for k in keys]
    assert murmur128_hash(raw, seed).tolist() == [_java_murmur(k, seed) for k in raw]


@pytest.mark.parametrize("name", ["tree_small_plain.tsfile", "table_aligned.tsfile"])
def test_bloom_filter_bits_equal_the_official_ones(name: str) -> None:
    with TsFileReader(OFFICIAL / name) as r:
        official = r.metadata.bloom_filter
        keys, chunks = [], 0
        for d in r.devices():
            time = r.time_column_metadata(d)
            tsms = ([time] if time else []) + list(r.timeseries_metadata(d).values())
            keys += [f"{d}.{t.measurement}" for t in tsms]
            chunks += sum(len(t.chunks) for t in tsms)
    ours = BloomFilter.for_entries(chunks)
    ours.add_all(keys)
    assert (ours.size, ours.hash_count) == (official.size, official.hash_count)
    assert ours.serialize() == official.serialize()
    assert all(official.contains(k) for k in keys)


# ---------------------------------------------------------------------- index area


def _tsm_regions(reader: TsFileReader):
    """(bytes, [TimeseriesMetadata]) of every leaf-measurement entry range in the file."""
    for device in reader.devices():
        node = reader.index_node(*reader.device_node_range(device))
        assert node.node_type == MetadataIndexNodeType.LEAF_MEASUREMENT
        for _, a, b in node.ranges():
            raw = bytes(reader._data[a:b])
            r = ByteReader(raw)
            tsms = []
            while r.remaining:
                tsms.append(TimeseriesMetadata.read(r))
            yield raw, tsms


@pytest.mark.parametrize(
    "name", ["tree_small_plain.tsfile", "tree_multi.tsfile", "table_aligned.tsfile"]
)
def test_timeseries_metadata_reserialises_byte_for_byte(name: str) -> None:
    with TsFileReader(OFFICIAL / name) as r:
        for raw, tsms in _tsm_regions(r):
            assert b"".join(t.serialize() for t in tsms) == raw


def _rewrite_small_plain(path: Path) -> None:
    series = expected_series("tree_small_plain.tsfile")
    devices: dict[str, list] = {}
    for (device, m), (dt, _) in series.items():
        devices.setdefault(device, []).append(
            MeasurementSchema(m, dt, TSEncoding.PLAIN, CompressionType.UNCOMPRESSED)
        )
    with TsFileWriter(path) as w:
        for device, schemas in devices.items():
            rows: dict[int, list] = {}
            for j, s in enumerate(schemas):
                for t, v in series[(device, s.name)][1]:
                    rows.setdefault(t, [None] * len(schemas))[j] = v
            w.write_tablet(Tablet.from_rows(device, schemas, sorted(rows.items())))


def test_rewriting_the_official_plain_file_gives_the_same_bytes(tmp_path: Path) -> None:
    official = (OFFICIAL / "tree_small_plain.tsfile").read_bytes()
    ours_path = tmp_path / "ours.tsfile"
    _rewrite_small_plain(ours_path)
    ours = ours_path.read_bytes()
    # the data area is identical; the official C++ writer adds a 17-byte OPERATION_INDEX_RANGE
    # record before the separator, which shifts the offsets of the index area by 17
    data_end = 0x1E6
    assert official[data_end] == 0x04 and official[data_end + 17] == 0x02
    assert ours[:data_end] == official[:data_end]
    assert ours[data_end] == 0x02
    with TsFileReader(OFFICIAL / "tree_small_plain.tsfile") as a, TsFileReader(ours_path) as b:
        assert b.metadata.meta_offset == a.metadata.meta_offset - 17
        (ra,) = a.metadata.roots.values()
        (rb,) = b.metadata.roots.values()
        assert [(k, o - 17) for k, o in ra.entries] == rb.entries
        assert rb.end_offset == ra.end_offset - 17
        assert a.metadata.bloom_filter.serialize() == b.metadata.bloom_filter.serialize()
        assert list(a.metadata.properties.items()) == list(b.metadata.properties.items())
        assert [raw for raw, _ in _tsm_regions(a)] == [raw for raw, _ in _tsm_regions(b)]
    # TsFileMetadata: same length, the property count in zigzag (3 -> 0x06)
    size_a = struct.unpack(">i", official[-10:-6])[0]
    size_b = struct.unpack(">i", ours[-10:-6])[0]
    assert size_a == size_b == 185
    assert b"\x06\x14encryptKey\x01" in ours[-10 - size_b :]


def _write_many(path: Path, devices: int, measurements: int, config=None) -> None:
    schemas = [MeasurementSchema(f"s{j:03d}", TSDataType.INT64) for j in range(measurements)]
    times = np.arange(3, dtype=np.int64)
    with TsFileWriter(path, config=config) as w:
        for i in range(devices):
            cols = [times + j for j in range(measurements)]
            w.write_tablet(Tablet(f"root.sg.d{i:03d}", schemas, times, cols))


def test_300_devices_make_an_internal_device_node(tmp_path: Path) -> None:
    path = tmp_path / "many.tsfile"
    _write_many(path, 300, 1)
    with TsFileReader(path) as r:
        (root,) = r.metadata.roots.values()
        assert root.node_type == MetadataIndexNodeType.INTERNAL_DEVICE
        children = [r.index_node(a, b, True) for _, a, b in root.ranges()]
        assert [len(c.entries) for c in children] == [256, 44]
        assert all(c.node_type == MetadataIndexNodeType.LEAF_DEVICE for c in children)
        assert root.entries[1][0] == DeviceID(("root.sg", "d256"))
        assert len(r.devices()) == 300
        assert r.read_series("root.sg.d299")["s000"][1].tolist() == [0, 1, 2]


def test_300_measurements_make_two_leaf_entries(tmp_path: Path) -> None:
    path = tmp_path / "wide.tsfile"
    _write_many(path, 1, 300)
    with TsFileReader(path) as r:
        node = r.index_node(*r.device_node_range("root.sg.d000"))
        assert node.node_type == MetadataIndexNodeType.LEAF_MEASUREMENT
        assert [k for k, _ in node.entries] == ["s000", "s256"]
        assert len(r.measurements("root.sg.d000")) == 300
        assert r.read_series("root.sg.d000", ["s299"])["s299"][1].tolist() == [299, 300, 301]


def test_small_degree_builds_internal_measurement_levels(tmp_path: Path) -> None:
    path = tmp_path / "deep.tsfile"
    _write_many(path, 20, 40, TsFileConfig(max_degree_of_index_node=3))
    with TsFileReader(path) as r:
        (root,) = r.metadata.roots.values()
        assert root.node_type == MetadataIndexNodeType.INTERNAL_DEVICE
        node = r.index_node(*r.device_node_range("root.sg.d007"))
        assert node.node_type == MetadataIndexNodeType.INTERNAL_MEASUREMENT
        assert len(r.devices()) == 20
        assert r.measurements("root.sg.d019") == [f"s{j:03d}" for j in range(40)]
        got = r.read_series("root.sg.d013", ["s039"])["s039"][1]
        assert got.tolist() == [39, 40, 41]


def test_index_node_serialisation_round_trips() -> None:
    node = MetadataIndexNode(
        MetadataIndexNodeType.LEAF_DEVICE,
        [(DeviceID(("root.sg1", "d1")), 974), (DeviceID(("root.sg1", "d2")), 999)],
        1024,
    )
    raw = node.serialize(4)
    assert raw[:1] == b"\x02" and raw[-9:] == struct.pack(">q", 1024) + b"\x01"
    assert MetadataIndexNode.read(ByteReader(raw), 4, True) == node


# ---------------------------------------------------------------------- statistics


def _java_stats(values: list, data_type: TSDataType):
    """Java's Statistics.update, value by value: (min, max, first, last, sum)."""
    lo = hi = first = values[0]
    total = 0.0 if data_type != TSDataType.INT32 else 0
    for v in values:
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        total += v  # a double for INT64/FLOAT/DOUBLE (float(v) added in order), a long for INT32
    return lo, hi, first, values[-1], total


@given(
    st.data(),
    st.sampled_from([TSDataType.INT32, TSDataType.INT64, TSDataType.DOUBLE, TSDataType.FLOAT]),
)
@settings(max_examples=150)
def test_statistics_follow_java_value_by_value(data, data_type: TSDataType) -> None:
    from strategies import value_arrays

    from pipecore_storage.tsfile import Statistics

    values = data.draw(value_arrays(data_type, max_size=200).filter(lambda a: a.shape[0] > 0))
    times = np.arange(values.shape[0], dtype=np.int64)
    st_ = Statistics.of(data_type, times, values)
    if data_type == TSDataType.INT64:
        py = [int(x) for x in values.tolist()]
        total = 0.0
        for x in py:
            total += float(x)  # Java converts the long to double before adding
        want = (min(py), max(py), py[0], py[-1], total)
    else:
        want = _java_stats(values.tolist(), data_type)
    got = (st_.min_value, st_.max_value, st_.first_value, st_.last_value, st_.sum_value)
    assert np.array_equal(
        np.array(got[:4], dtype=float), np.array(want[:4], dtype=float), equal_nan=True
    )
    if data_type == TSDataType.INT32:
        assert got[4] == want[4]
    else:  # INT64, FLOAT and DOUBLE sums are doubles accumulated in order
        assert got[4] == want[4] or (got[4] != got[4] and want[4] != want[4])
    raw = st_.serialize()
    assert Statistics.deserialize(ByteReader(raw), data_type).serialize() == raw
