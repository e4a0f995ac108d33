"""``opc-ua-sink`` (connectors/opcua; ``pip install connectors/opcua`` first): how fast a server
takes tablets in each model, without clients.

    python bench/opcua_bench.py [--tablets 200] [--events 20000]

* client-server: tablets of 1,000 rows x 10 DOUBLE series over 50 devices; each puts the latest
  value of every series into its variable (points/s counts every point of the tablets).
* pub-sub: one tablet of ``--events`` rows, one event posted per point.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from pipecore_opcua.sink import CLIENT_SERVER, PUB_SUB, OpcUaServer
from pipecore_storage import MeasurementSchema, Tablet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(model: str, folder: Path) -> OpcUaServer:
    return OpcUaServer("127.0.0.1", _free_port(), model, folder / model, "root", "root", True, "ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tablets", type=int, default=200)
    ap.add_argument("--events", type=int, default=20_000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    schemas = [MeasurementSchema(f"s{j}", "DOUBLE") for j in range(10)]
    tablets = [
        Tablet(
            f"root.bench.d{i % 50}",
            schemas,
            np.arange(1000) + i * 1000,
            [rng.random(1000) for _ in schemas],
        )
        for i in range(args.tablets)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = _server(CLIENT_SERVER, Path(tmp))
        start = time.perf_counter()
        for tablet in tablets:
            server.submit(tablet).result(60)
        elapsed = time.perf_counter() - start
        server.stop()
        points = sum(t.point_count() for t in tablets)
        print(
            f"client-server: {len(tablets) / elapsed:,.0f} tablets/s, "
            f"{points / elapsed / 1e6:.2f} Mpoints/s"
        )
        server = _server(PUB_SUB, Path(tmp))
        n = args.events
        tablet = Tablet("root.bench.d", schemas[:1], np.arange(n), [rng.random(n)])
        start = time.perf_counter()
        server.submit(tablet).result(600)
        elapsed = time.perf_counter() - start
        server.stop()
        print(f"pub-sub: {n / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
