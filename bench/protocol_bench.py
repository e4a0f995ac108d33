"""Pipe protocol codec and RPC loopback benchmark.

    python bench/protocol_bench.py [--quick]

Prints per-operation times for a tablet of 1,000 rows x 10 series (the stream unit of issue 7)
and the throughput of `PipeTransferClient` -> `RpcServer` on loopback with a receiver that
decodes every tablet, next to a raw loopback socket copy of the same bytes (ratio).
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
import timeit

import numpy as np

from pipecore.rpc import PipeTransferClient, PipeTransferResponse, RpcServer, Status
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_thrift_sink.protocol import (
    InsertTabletNode,
    PipeCompressor,
    PipeTransferRequest,
    compress_request,
    decode_insert_node,
    decode_tablet_batch,
    decode_tablet_raw,
    decompress_request,
    encode_insert_node,
    encode_tablet_batch,
    encode_tablet_raw,
)

ROWS, SERIES = 1000, 10


def numeric_tablet(dtype: str = "DOUBLE", nulls: bool = False) -> Tablet:
    rng = np.random.default_rng(1)
    schemas = [MeasurementSchema(f"s{i}", dtype) for i in range(SERIES)]
    np_type = schemas[0].data_type.numpy_dtype
    cols = [(rng.random(ROWS) * 1000).astype(np_type) for _ in range(SERIES)]
    masks = [rng.random(ROWS) < 0.1 if nulls else None for _ in range(SERIES)]
    return Tablet("root.bench.d1", schemas, np.arange(ROWS, dtype=np.int64), cols, masks)


def text_tablet() -> Tablet:
    schemas = [MeasurementSchema(f"t{i}", "TEXT") for i in range(SERIES)]
    col = np.array([f"value-{i}" for i in range(ROWS)], dtype=object)
    return Tablet("root.bench.d2", schemas, np.arange(ROWS), [col] * SERIES)


def per_call(fn, seconds: float) -> float:
    n, total = 1, 0.0
    while True:
        total = timeit.timeit(fn, number=n)
        if total > seconds / 5:
            break
        n *= 4
    reps = max(1, int(n * (seconds / 5) / total))
    return min(timeit.repeat(fn, number=reps, repeat=5)) / reps


def codec_figures(seconds: float) -> None:
    print(f"codec, one tablet of {ROWS} rows x {SERIES} series (best of 5):")
    cases = {
        "DOUBLE": numeric_tablet(),
        "INT64 with 10% nulls": numeric_tablet("INT64", nulls=True),
        "TEXT": text_tablet(),
    }
    for name, tablet in cases.items():
        body = encode_tablet_raw(tablet)
        enc = per_call(lambda t=tablet: encode_tablet_raw(t), seconds)
        dec = per_call(lambda b=body: decode_tablet_raw(b), seconds)
        points = ROWS * SERIES
        print(
            f"  type 3 {name:<22} {len(body):>7} B  encode {enc * 1e6:7.1f} us"
            f"  decode {dec * 1e6:7.1f} us  ({points / dec / 1e6:6.1f} M points/s decoded)"
        )
    tablet = numeric_tablet()
    node = encode_insert_node(InsertTabletNode(tablet))
    dec = per_call(lambda: decode_insert_node(node), seconds)
    print(f"  type 2 InsertTabletNode DOUBLE      decode {dec * 1e6:7.1f} us")
    batch = encode_tablet_batch([tablet] * 10)
    enc = per_call(lambda: encode_tablet_batch([tablet] * 10), seconds)
    dec = per_call(lambda: decode_tablet_batch(batch), seconds)
    print(
        f"  type 6 batch of 10 DOUBLE tablets   encode {enc * 1e3:7.2f} ms"
        f"  decode {dec * 1e3:7.2f} ms"
    )
    req = PipeTransferRequest(1, 3, encode_tablet_raw(tablet))
    for kind in PipeCompressor:
        wrapped = compress_request(req, [kind])
        enc = per_call(lambda k=kind: compress_request(req, [k]), seconds / 2)
        dec = per_call(lambda w=wrapped: decompress_request(w.body), seconds / 2)
        ratio = len(wrapped.body) / len(req.body)
        print(
            f"  type 300 {kind.option_name:<6} size x{ratio:4.2f}"
            f"  compress {enc * 1e3:6.2f} ms  decompress {dec * 1e3:6.2f} ms"
        )


class DecodingReceiver:
    def __init__(self, context):
        self.points = 0

    def transfer(self, version, type, body):
        tablet = decode_tablet_raw(body)
        self.points += tablet.point_count()
        return PipeTransferResponse(Status(200))

    def close(self):
        pass


def raw_copy_rate(total_bytes: int, chunk: bytes) -> float:
    listener = socket.create_server(("127.0.0.1", 0))

    def sink():
        conn, _ = listener.accept()
        with conn:
            buf = bytearray(1 << 20)
            while conn.recv_into(buf):
                pass

    thread = threading.Thread(target=sink)
    thread.start()
    sent = 0
    started = time.perf_counter()
    with socket.create_connection(listener.getsockname()) as sock:
        while sent < total_bytes:
            sock.sendall(chunk)
            sent += len(chunk)
    thread.join()
    listener.close()
    return sent / (time.perf_counter() - started)


def rpc_figures(tablets: int) -> None:
    tablet = numeric_tablet()
    with RpcServer("127.0.0.1", 0) as server:
        server.register_pipe_receiver(DecodingReceiver)
        with PipeTransferClient(*server.address, timeout=30) as client:
            client.transfer(1, 3, encode_tablet_raw(tablet))  # connect, warm up
            latencies = []
            started = time.perf_counter()
            for _ in range(tablets):
                t0 = time.perf_counter()
                reply = client.transfer(1, 3, encode_tablet_raw(tablet))
                latencies.append(time.perf_counter() - t0)
                assert reply.code == 200
            elapsed = time.perf_counter() - started
    body = encode_tablet_raw(tablet)
    points = tablets * ROWS * SERIES
    raw = raw_copy_rate(len(body) * tablets, body)
    ours = len(body) * tablets / elapsed
    p50, p99 = np.percentile(latencies, [50, 99]) * 1e3
    print(f"rpc loopback, sync client, {tablets} type-3 tablets (encode + send + decode + reply):")
    print(f"  {points / elapsed / 1e6:6.2f} M points/s, {ours / 1e6:7.1f} MB/s")
    print(f"  per request p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"  raw loopback socket copy of the same bytes: {raw / 1e6:7.1f} MB/s")
    print(f"  ratio rpc / raw copy: {ours / raw:5.2f}")


class PieceReceiver:
    def __init__(self, context):
        pass

    def transfer(self, version, type, body):
        return PipeTransferResponse(Status(200), b"\0" * 8)

    def close(self):
        pass


def piece_figures(pieces: int, size: int = 5 << 20) -> None:
    """TsFile-piece-sized requests (5 MiB, IoTDB's pipe_sink_read_file_buffer_size)."""
    piece = bytes(size)
    with RpcServer("127.0.0.1", 0) as server:
        server.register_pipe_receiver(PieceReceiver)
        with PipeTransferClient(*server.address, timeout=60) as client:
            client.transfer(1, 4, piece)
            started = time.perf_counter()
            for _ in range(pieces):
                client.transfer(1, 4, piece)
            elapsed = time.perf_counter() - started
    ours = pieces * size / elapsed
    raw = raw_copy_rate(pieces * size, piece)
    print(f"rpc loopback, {pieces} requests of {size >> 20} MiB (file pieces, no disk):")
    print(
        f"  {ours / 1e6:7.1f} MB/s; raw socket copy {raw / 1e6:7.1f} MB/s; ratio {ours / raw:4.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args()
    codec_figures(0.5 if args.quick else 2.0)
    rpc_figures(300 if args.quick else 2000)
    piece_figures(20 if args.quick else 200)


if __name__ == "__main__":
    main()
