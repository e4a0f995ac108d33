"""What VERIFY PIPE costs: bytes on the wire and seconds to verify N points, against the bytes
a full resend would move (the reference, measured in the same run: the raw tablets, 8 bytes of
time and 8 of value per point, and the sealed TsFiles a file transfer would send).

Two embedded nodes hold the same data; a pipe between them is created stopped (nothing moves);
VERIFY PIPE runs through a byte-counting TCP proxy in front of the receiver.

    python bench/verify_bench.py [--points 10000000] [--series 10] [--granularity 1h]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import pipecore
from pipecore.timeparse import parse_duration
from pipecore_storage import MeasurementSchema, Tablet, TSDataType

_CHUNK = 200_000


class CountingProxy:
    """127.0.0.1 TCP proxy that counts the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = self.down = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, "down"), daemon=True
            ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        try:
            while data := src.recv(1 << 16):
                setattr(self, way, getattr(self, way) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def fill(node: pipecore.Node, points: int, series: int) -> None:
    per_series = points // series
    rng = np.random.default_rng(7)
    schema = [MeasurementSchema("s", TSDataType.DOUBLE)]
    for i in range(series):
        for at in range(0, per_series, _CHUNK):
            n = min(_CHUNK, per_series - at)
            times = (np.arange(at, at + n, dtype=np.int64)) * 1000  # one point a second
            values = rng.standard_normal(n)
            node.store.insert_tablet(Tablet(f"root.bench.d{i}", schema, times, [values]))
    node.store.flush()


def tsfile_bytes(node: pipecore.Node) -> int:
    return sum(f.path.stat().st_size for f in node.store.sealed_files())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--granularity", default="1h")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with pipecore.Node.open(root / "b") as b, pipecore.Node.open(root / "a") as a:
            started = time.perf_counter()
            for node in (a, b):
                fill(node, args.points, args.series)
            print(f"loaded {args.points:,} points twice in {time.perf_counter() - started:.1f} s")
            _, port = b.serve("127.0.0.1", 0)
            proxy = CountingProxy(port)
            a.execute(
                "CREATE PIPE bench WITH SOURCE ('source.path'='root.bench.**', 'start'='false') "
                "WITH SINK ('sink'='iotdb-thrift-sync-sink', "
                f"'sink.node-urls'='127.0.0.1:{proxy.port}')"
            )
            handshake = proxy.up + proxy.down  # CREATE PIPE's own handshake
            started = time.perf_counter()
            rows = a.execute(f"VERIFY PIPE bench GRANULARITY {args.granularity}").rows
            seconds = time.perf_counter() - started
            time.sleep(0.2)
            wire = proxy.up + proxy.down - handshake
            proxy.close()
            raw = args.points * 16
            files = tsfile_bytes(a)
            windows = args.series * -(
                -args.points // args.series * 1000 // parse_duration(args.granularity)
            )
            print(
                f"VERIFY of {args.points:,} points in {args.series} series, granularity "
                f"{args.granularity} (~{windows:,} windows): {len(rows)} differing rows"
            )
            print(f"  wire bytes, both ways, VERIFY's own handshake included: {wire:,}")
            print(f"  seconds: {seconds:.2f} (both sides' digests + the round trip)")
            print(f"  full resend as raw tablets: {raw:,} bytes → VERIFY is {wire / raw:.5%} of it")
            share = wire / files
            print(f"  full resend as TsFiles:     {files:,} bytes → VERIFY is {share:.5%} of it")


if __name__ == "__main__":
    main()
