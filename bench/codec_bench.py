"""Throughput of the TsFile value codecs (values/s per codec, encode and decode).

Pages of 10,000 values, as the issue's benchmark writes them (5 INT64 TS_2DIFF + 5 DOUBLE
GORILLA series per device, LZ4, 10,000 rows per page). Run:

    python bench/codec_bench.py [--pages N]

Also: GORILLA page sizes and speeds on data shapes with repeats, and, when the official
package (tsfile 2.5, C++ core) is installed, the decoding of GORILLA pages its writer wrote
(values/s of our decoder on its value streams, and `TsFileReader.read_series` on its file),
plus its own whole read/write path: those figures include the file layer and the conversion
to Python objects, ours in the tables do not.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pipecore_storage.tsfile.compression import compress, decompress
from pipecore_storage.tsfile.encoding import decode, decode_times, encode, encode_times
from pipecore_storage.types import CompressionType as C
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E

PAGE = 10_000


def _data(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = 1_700_000_000_000 + np.arange(PAGE, dtype=np.int64) * 1000
    return {
        "times": times,
        "int64": np.cumsum(rng.integers(-100, 100, PAGE)).astype(np.int64),
        "int32": np.cumsum(rng.integers(-100, 100, PAGE)).astype(np.int32),
        "double": np.round(20 + np.cumsum(rng.normal(0, 0.1, PAGE)), 2),
        "float": (20 + np.cumsum(rng.normal(0, 0.1, PAGE))).astype(np.float32),
        "bool": rng.random(PAGE) < 0.1,
        "text": np.array([f"state-{i}" for i in rng.integers(0, 20, PAGE)], dtype=object),
    }


CASES = [
    ("INT64 TS_2DIFF", "int64", T.INT64, E.TS_2DIFF),
    ("INT64 RLE", "int64", T.INT64, E.RLE),
    ("INT64 GORILLA", "int64", T.INT64, E.GORILLA),
    ("INT64 ZIGZAG", "int64", T.INT64, E.ZIGZAG),
    ("INT64 PLAIN", "int64", T.INT64, E.PLAIN),
    ("INT32 TS_2DIFF", "int32", T.INT32, E.TS_2DIFF),
    ("INT32 RLE", "int32", T.INT32, E.RLE),
    ("INT32 PLAIN", "int32", T.INT32, E.PLAIN),
    ("DOUBLE GORILLA", "double", T.DOUBLE, E.GORILLA),
    ("FLOAT GORILLA", "float", T.FLOAT, E.GORILLA),
    ("DOUBLE TS_2DIFF (lossy)", "double", T.DOUBLE, E.TS_2DIFF),
    ("DOUBLE PLAIN", "double", T.DOUBLE, E.PLAIN),
    ("BOOLEAN PLAIN", "bool", T.BOOLEAN, E.PLAIN),
    ("BOOLEAN RLE", "bool", T.BOOLEAN, E.RLE),
    ("TEXT PLAIN", "text", T.TEXT, E.PLAIN),
    ("TEXT DICTIONARY", "text", T.TEXT, E.DICTIONARY),
]


def _rate(fn, n_values: int, repeat: int) -> float:
    """Values/s of the best of 7 short loops (the machine is shared: spikes are common)."""
    repeat = max(1, repeat // 2)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, time.perf_counter() - start)
    return n_values * repeat / best


def bench_codecs(pages: int) -> None:
    data = _data(1)
    print(f"{'codec':26} {'encode Mval/s':>14} {'decode Mval/s':>14} {'bytes/value':>12}")
    t = data["times"]
    raw = encode_times(t)
    enc = _rate(lambda: encode_times(t), PAGE, pages)
    dec = _rate(lambda: decode_times(raw), PAGE, pages)
    print(
        f"{'time column (TS_2DIFF)':26} {enc / 1e6:14.2f} {dec / 1e6:14.2f} {len(raw) / PAGE:12.2f}"
    )
    for name, key, dtype, encoding in CASES:
        values = data[key]
        raw = encode(values, dtype, encoding)
        enc = _rate(lambda v=values, d=dtype, e=encoding: encode(v, d, e), PAGE, pages)
        dec = _rate(lambda r=raw, d=dtype, e=encoding: decode(r, d, e, PAGE), PAGE, pages)
        print(f"{name:26} {enc / 1e6:14.2f} {dec / 1e6:14.2f} {len(raw) / PAGE:12.2f}")


def bench_pages(pages: int) -> None:
    """One benchmark device's page bodies: time column + values, LZ4 (no file layer)."""
    data = _data(2)
    t, longs, doubles = data["times"], data["int64"], data["double"]

    def write() -> list[bytes]:
        out = []
        for values, dtype, enc in [(longs, T.INT64, E.TS_2DIFF)] * 5 + [
            (doubles, T.DOUBLE, E.GORILLA)
        ] * 5:
            times = encode_times(t)
            body = len(times).to_bytes(2, "little") + times + encode(values, dtype, enc)
            out.append(compress(C.LZ4, body))
        return out

    bodies = write()
    sizes = [len(b) for b in bodies]

    def read() -> None:
        for i, b in enumerate(bodies):
            body = _body(b)
            tlen = int.from_bytes(body[:2], "little")
            decode_times(body[2 : 2 + tlen])
            dtype, enc = (T.INT64, E.TS_2DIFF) if i < 5 else (T.DOUBLE, E.GORILLA)
            decode(body[2 + tlen :], dtype, enc, PAGE)

    points = 10 * PAGE
    w = _rate(write, points, max(1, pages // 10))
    r = _rate(read, points, max(1, pages // 10))
    print("\npage bodies of the issue benchmark (5 INT64 TS_2DIFF + 5 DOUBLE GORILLA, LZ4):")
    per_point = sum(sizes) / points
    print(
        f"  write (encode + compress)     {w / 1e6:8.2f} M points/s   {per_point:.2f} bytes/point"
    )
    print(f"  read  (decompress + decode)   {r / 1e6:8.2f} M points/s")


_SIZES: dict[bytes, int] = {}


def _body(packed: bytes) -> bytes:
    import lz4.block

    size = _SIZES.get(packed)
    if size is None:
        size = _SIZES[packed] = len(lz4.block.decompress(packed, uncompressed_size=1 << 20))
    return decompress(C.LZ4, packed, size)


def _shapes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    walk = np.round(20 + np.cumsum(rng.normal(0, 0.1, PAGE)), 2)
    return {
        "random walk, 2 decimals": walk,
        "random walk, unrounded": 20 + np.cumsum(rng.normal(0, 0.1, PAGE)),
        "held for 5 samples": np.repeat(walk[: PAGE // 5], 5),
        "step held for 50 samples": np.repeat(np.round(rng.normal(0, 10, PAGE // 50), 1), 50),
        "counter": np.arange(PAGE, dtype=np.float64),
        "slow walk, 1 decimal": np.round(20 + np.cumsum(rng.normal(0, 0.03, PAGE)), 1),
    }


def bench_gorilla_shapes(pages: int) -> None:
    import lz4.block

    print("\nDOUBLE GORILLA by data shape (pages of 10,000 values):")
    print(f"{'shape':26} {'encode Mval/s':>14} {'decode Mval/s':>14} {'bytes/value raw / LZ4':>22}")
    for name, values in _shapes().items():
        raw = encode(values, T.DOUBLE, E.GORILLA)
        enc = _rate(lambda v=values: encode(v, T.DOUBLE, E.GORILLA), PAGE, pages)
        dec = _rate(lambda r=raw: decode(r, T.DOUBLE, E.GORILLA, PAGE), PAGE, pages)
        packed = len(lz4.block.compress(raw, store_size=False))
        sizes = f"{len(raw) / PAGE:.2f} / {packed / PAGE:.2f}"
        print(f"{name:26} {enc / 1e6:14.2f} {dec / 1e6:14.2f} {sizes:>22}")


def bench_official_gorilla(pages: int) -> None:
    """Our decoder on GORILLA pages written by the official C++ writer (the '0'/'10'/'11'
    mix of every Java/C++ writer), and read_series on that whole file."""
    try:
        import tsfile
    except ImportError:
        return
    import os
    import tempfile

    import pipecore_storage.tsfile.encoding as codecs
    from pipecore_storage.tsfile import TsFileReader

    shapes = _shapes()
    path = os.path.join(tempfile.mkdtemp(), "official-gorilla.tsfile")
    kind = tsfile.TSDataType.DOUBLE
    names = [n.replace(" ", "_").replace(",", "") for n in shapes]
    w = tsfile.TsFileWriter(path)
    w.register_device(
        tsfile.DeviceSchema(
            "root.g.d",
            [
                tsfile.TimeseriesSchema(n, kind, tsfile.TSEncoding.GORILLA, tsfile.Compressor.LZ4)
                for n in names
            ],
        )
    )
    tab = tsfile.Tablet(names, [kind] * len(names), PAGE)
    tab.set_table_name("root.g.d")
    tab.timestamp_list = list(range(PAGE))
    tab.data_list = [v.tolist() for v in shapes.values()]
    w.write_tablet(tab)
    w.close()
    streams: list[tuple[bytes, int]] = []
    real = codecs.decode

    def capture(buf, data_type, encoding, count, props=None):
        if encoding == E.GORILLA:
            streams.append((bytes(buf), count))
        return real(buf, data_type, encoding, count, props)

    codecs.decode = capture
    try:
        with TsFileReader(path) as r:
            for name in names:  # one at a time: the captured stream is that series'
                r.read_series("root.g.d", [name])
    finally:
        codecs.decode = real
    print("\nofficial (C++) writer's DOUBLE GORILLA pages, decoded by us:")
    print(f"{'shape':26} {'decode Mval/s':>14} {'bytes/value':>12}")
    for name, (raw, count) in zip(shapes, streams, strict=True):
        dec = _rate(lambda r=raw, c=count: decode(r, T.DOUBLE, E.GORILLA, c), count, pages)
        print(f"{name:26} {dec / 1e6:14.2f} {len(raw) / count:12.2f}")

    def read() -> None:
        with TsFileReader(path) as r:
            r.read_series("root.g.d")

    total = PAGE * len(names)
    print(
        f"  read_series of that file (LZ4, times too): {_rate(read, total, 3) / 1e6:.2f} M points/s"
    )


def bench_official(devices: int) -> None:
    try:
        import tsfile
    except ImportError:
        print("\nofficial tsfile package not installed: no comparison")
        return
    import os
    import tempfile

    data = _data(3)
    path = os.path.join(tempfile.mkdtemp(), "official.tsfile")
    names = [f"s{i}" for i in range(10)]
    types = [tsfile.TSDataType.INT64] * 5 + [tsfile.TSDataType.DOUBLE] * 5
    start = time.perf_counter()
    w = tsfile.TsFileWriter(path)
    for d in range(devices):
        dev = f"root.bench.d{d}"
        w.register_device(
            tsfile.DeviceSchema(
                dev,
                [
                    tsfile.TimeseriesSchema(
                        n,
                        ty,
                        tsfile.TSEncoding.TS_2DIFF if i < 5 else tsfile.TSEncoding.GORILLA,
                        tsfile.Compressor.LZ4,
                    )
                    for i, (n, ty) in enumerate(zip(names, types, strict=True))
                ],
            )
        )
        tab = tsfile.Tablet(names, types, PAGE)
        tab.set_table_name(dev)
        tab.timestamp_list = data["times"].tolist()
        tab.data_list = [data["int64"].tolist()] * 5 + [data["double"].tolist()] * 5
        w.write_tablet(tab)
    w.close()
    wt = time.perf_counter() - start
    start = time.perf_counter()
    r = tsfile.TsFileReader(path)
    for d in range(devices):
        rs = r.query_timeseries(f"root.bench.d{d}", names, -(2**62), 2**62)
        while not rs.read_data_frame(65536).empty:
            pass
        rs.close()
    r.close()
    rt = time.perf_counter() - start
    points = devices * 10 * PAGE
    version = getattr(tsfile, "__version__", "2.5")
    print(f"\nofficial tsfile {version} ({devices} devices x 10 series x {PAGE} rows, file path):")
    wr, rr = points / wt / 1e6, points / rt / 1e6
    print(f"  write {wr:8.2f} M points/s   read (read_data_frame) {rr:8.2f} M points/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages per measurement")
    parser.add_argument("--official-devices", type=int, default=10)
    args = parser.parse_args()
    bench_codecs(args.pages)
    bench_pages(args.pages)
    bench_gorilla_shapes(args.pages)
    bench_official_gorilla(args.pages)
    bench_official(args.official_devices)


if __name__ == "__main__":
    main()
