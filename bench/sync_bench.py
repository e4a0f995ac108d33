"""Sync between two nodes over the thrift, SSL and air-gap sinks, on loopback.

    python bench/sync_bench.py [--points 10000000] [--gigabytes 1.0] [--samples 300] [--quick]
                               [--only stream|batch|latency] [--sink NAME ...]

Prints, in one run:

1. **stream**: points/s moving tablets of 1,000 rows x 10 DOUBLE series from a sender node
   (generated source) through ``iotdb-thrift-sync-sink``, ``iotdb-thrift-sink`` (async),
   ``iotdb-thrift-ssl-sink`` (TLS; the receiver's RPC port is TLS) and ``iotdb-air-gap-sink``
   (framed, one reply byte per tablet, no batching; the receiver's air-gap port) into a
   receiver `pipecore serve` process that writes them into its store — counted until the
   sender's pipe has committed everything, i.e. the receiver acknowledged every request. The
   SSL and air-gap sinks are one-connection sinks built on the sync sink: their ratio is to
   ``iotdb-thrift-sync-sink``.
2. **batch**: bytes/s moving ~1 GB of TsFiles through each sink into the receiver, next to a
   raw loopback socket copy of the same bytes into files on the same disk (ratio). The
   receiver answers each seal once the file is fsynced and queued for loading
   (``load-tsfile-strategy=async``); the time until the last file is loaded is printed too.
   The air-gap sink runs twice: with ``tsfile.format-version=4`` (no rewrite: the receiver is
   pipecore) and with the default ``auto`` (a one-byte reply cannot tell pipecore from IoTDB,
   so every file is rewritten as format 3 first).
3. **latency**: insert on the sender (iotdb-source, realtime stream) to visible on the
   receiver, p50/p99, with batching off and on.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipecore import (
    Extractor,
    Node,
    TsFileInsertionEvent,
    hookimpl,
)
from pipecore.cli.remote import RemoteSession
from pipecore.testing import plugins as testing_plugins
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileWriter

SINKS = (
    "iotdb-thrift-sync-sink",
    "iotdb-thrift-sink",
    "iotdb-thrift-ssl-sink",
    "iotdb-air-gap-sink",
)
#: what each sink's figure is compared with
BASELINE = {
    "iotdb-thrift-ssl-sink": "iotdb-thrift-sync-sink",
    "iotdb-air-gap-sink": "iotdb-thrift-sync-sink",
}
FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.05,
    "pipe_auto_restart_enabled": False,
}


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_pki(folder: Path) -> tuple[Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (needs `cryptography`): (the CA's PEM,
    the server's PEM key store — certificate and key in one file)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def build(subject: str, issuer: Any, key: Any, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = build("bench CA", ca_name, ca_key, ca_key, True)
    cert = build("bench server", ca_name, key, ca_key, False)
    pem = serialization.Encoding.PEM
    ca_path, store = folder / "bench-ca.pem", folder / "bench-server.pem"
    ca_path.write_bytes(ca.public_bytes(pem))
    store.write_bytes(
        cert.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, store


class Receiver:
    """A `pipecore serve` process, for `sink`: its RPC port in TLS for the SSL sink, its
    air-gap receiver on for the air-gap sink."""

    def __init__(self, root: Path, name: str = "receiver", sink: str = SINKS[0]) -> None:
        self.port = free_port()
        self.sink = sink
        data = root / name
        config = root / f"{name}.toml"
        lines = ["pipe_heartbeat_interval_seconds_for_collecting_pipe_meta = 0.1"]
        context = None
        self.ca: Path | None = None
        if sink == "iotdb-thrift-ssl-sink":
            self.ca, store = make_pki(root)
            lines += ["enable_thrift_ssl = true", f'key_store_path = "{store}"']
            from pipecore.rpc.tls import client_context

            context = client_context(self.ca)
        self.air_gap_port = None
        if sink == "iotdb-air-gap-sink":
            self.air_gap_port = free_port()
            lines += [
                "pipe_air_gap_receiver_enabled = true",
                f"pipe_air_gap_receiver_port = {self.air_gap_port}",
            ]
        config.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-c", "import sys; from pipecore.cli import main; sys.exit(main())",
                "serve", "--data-dir", str(data), "--config", str(config),
                "--rpc-port", str(self.port), "--rpc-address", "127.0.0.1",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "pipecore serving on" in line:
                break
        threading.Thread(target=self._drain, daemon=True).start()
        self.session = RemoteSession(
            "127.0.0.1", self.port, timeout=600, ssl_context=context
        ).open()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.air_gap_port or self.port}"

    def sink_params(self, **more: str) -> dict[str, str]:
        """What `self.sink` needs to reach this receiver."""
        params = {"sink": self.sink, "sink.node-urls": self.url, **more}
        if self.ca is not None:
            params |= {"ssl.trust-store-path": str(self.ca), "ssl.trust-store-pwd": ""}
        return params

    def count(self, pattern: str) -> int:
        try:
            table = self.session.run(f"select count(*) from {pattern}").table()
        except Exception:
            return 0
        return sum(int(v or 0) for row in table.rows for v in row)

    def close(self) -> None:
        self.session.close()
        self.proc.terminate()
        self.proc.wait(60)


def wait_committed(node: Node, pipe: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = node.get_pipe(pipe)
        if info.state != "RUNNING":
            raise RuntimeError(f"pipe {pipe} stopped: {info.exceptions}")
        facts = info.facts
        if facts is not None and facts.supplied_events and facts.remaining_event_count == 0:
            return
        time.sleep(0.002)
    raise TimeoutError(f"pipe {pipe} did not finish within {timeout}s")


# ------------------------------------------------------------------ 1. stream
def stream(root: Path, receiver: Receiver, sink: str, points: int) -> float:
    with Node.open(root / f"stream-{sink}", FAST, plugins=[testing_plugins]) as node:
        started = time.perf_counter()
        node.create_pipe(
            "stream",
            source={
                "source": "generated-source",
                "source.points": str(points),
                "source.devices": "10",
                "source.measurements": "10",
                "source.rows-per-tablet": "1000",
                "source.start-time": str(10**12 + len(sink)),
            },
            sink=receiver.sink_params(**{"sink.batch.max-delay-ms": "20"}),
        )
        wait_committed(node, "stream")
        return points / (time.perf_counter() - started)


# ------------------------------------------------------------------ 2. batch
def make_tsfiles(folder: Path, gigabytes: float) -> list[tuple[Path, dict[str, tuple[int, int]]]]:
    """~`gigabytes` of TsFiles (64 MiB each, PLAIN/UNCOMPRESSED DOUBLE, 8 devices)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, series, devices = 400_000, 10, 2
    first = folder / "1700000000000-1-0-0.tsfile"
    schemas = [MeasurementSchema(f"s{j}", "DOUBLE", "PLAIN", "UNCOMPRESSED") for j in range(series)]
    times = np.arange(rows, dtype=np.int64)
    with TsFileWriter(first) as writer:
        for d in range(devices):
            values = [np.random.default_rng(d * 100 + j).random(rows) for j in range(series)]
            writer.write_tablet(Tablet(f"root.batch.d{d}", schemas, times, values))
    size = first.stat().st_size
    count = max(1, round(gigabytes * 1e9 / size))
    index = {f"root.batch.d{d}": (0, rows - 1) for d in range(devices)}
    files = [(first, index)]
    for i in range(1, count):
        path = folder / f"1700000000000-{i + 1}-0-0.tsfile"
        shutil.copyfile(first, path)
        files.append((path, index))
    return files


class FilesSource(Extractor):
    """Supplies the bench's TsFiles (set in `FILES`) as TsFile events, once each."""

    FILES: ClassVar[list[tuple[Path, dict[str, tuple[int, int]]]]] = []

    def extractor_start(self) -> None:
        self.left = list(FilesSource.FILES)

    def extractor_supply(self) -> Any:
        if not self.left:
            return None
        path, index = self.left.pop(0)
        return TsFileInsertionEvent(path, index)

    def extractor_remaining_events(self) -> int:
        return len(self.left)


class BenchPlugins:
    @hookimpl
    def register_pipe_plugins(self, register: Callable[..., None]) -> None:
        register("source", "bench-files-source", FilesSource)


def batch(
    root: Path, receiver: Receiver, sink: str, files: list, total: int, version: str = "auto"
) -> tuple[float, float]:
    """(bytes/s until every seal was answered, bytes/s until every file was loaded)."""
    FilesSource.FILES = files
    with Node.open(root / f"batch-{sink}-{version}", FAST, plugins=[BenchPlugins()]) as node:
        before = receiver.count("root.batch.**")
        started = time.perf_counter()
        node.create_pipe(
            "batch",
            source={"source": "bench-files-source"},
            sink=receiver.sink_params(
                **{
                    "sink.load-tsfile-strategy": "async",
                    "sink.load-tsfile-validation": "false",
                    "sink.tsfile.format-version": version,
                }
            ),
        )
        wait_committed(node, "batch")
        sent = time.perf_counter() - started
        del before
        wait_loaded(receiver)
        loaded = time.perf_counter() - started
    return total / sent, total / loaded


def wait_loaded(receiver: Receiver, timeout: float = 900.0) -> None:
    """Until the receiver's queue of files to load is empty (its pending folder)."""
    deadline = time.monotonic() + timeout
    pending = receiver_pending_dir(receiver)
    while time.monotonic() < deadline:
        if not pending.exists() or not any(pending.iterdir()):
            return
        time.sleep(0.01)


def receiver_pending_dir(receiver: Receiver) -> Path:
    data = Path(receiver.proc.args[receiver.proc.args.index("--data-dir") + 1])
    return data / "system" / "pipe" / "load-pending"


RAW_RECEIVER = r"""
import os, socket, struct, sys
folder = sys.argv[1]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
buf = bytearray(8 << 20)
view = memoryview(buf)
n = 0
while True:
    head = conn.recv(8, socket.MSG_WAITALL)
    if len(head) < 8:
        break
    (size,) = struct.unpack(">q", head)
    fd = os.open(os.path.join(folder, f"{n}.copy"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    left = size
    while left:
        got = conn.recv_into(view[: min(left, len(buf))])
        os.write(fd, view[:got])
        left -= got
    os.fsync(fd)
    os.close(fd)
    n += 1
    conn.sendall(b"\x00")
"""


def raw_copy(root: Path, files: list) -> float:
    """Bytes/s of a plain loopback copy of the files into files in another process."""
    folder = root / "raw-copy"
    folder.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", RAW_RECEIVER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    total = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        buf = bytearray(8 << 20)
        for path, _ in files:
            size = path.stat().st_size
            total += size
            sock.sendall(size.to_bytes(8, "big"))
            with open(path, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    sock.sendall(memoryview(buf)[:n])
            sock.recv(1)
        elapsed = time.perf_counter() - started
    proc.wait(60)
    shutil.rmtree(folder)
    return total / elapsed


# ------------------------------------------------------------------ 3. latency
def latency(
    root: Path, batching: str, samples: int, delay_ms: str | None = None
) -> tuple[float, float]:
    """p50, p99 in ms from a sender insert to the row's arrival in the receiver's store."""
    with (
        Node.open(root / f"lat-recv-{batching}-{delay_ms}", FAST) as receiver,
        Node.open(root / f"lat-send-{batching}-{delay_ms}", FAST) as sender,
    ):
        _host, port = receiver.serve("127.0.0.1", 0)
        arrived: dict[int, float] = {}
        subscription = receiver.store.subscribe("bench-latency")
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                event = subscription.get(0.1)
                if event is None or not hasattr(event, "tablet"):
                    continue
                now = time.perf_counter()
                for t in event.tablet.timestamps.tolist():
                    arrived.setdefault(int(t), now)

        threading.Thread(target=watch, daemon=True).start()
        sender.create_pipe(
            "latency",
            source={"source": "iotdb-source", "source.realtime.mode": "stream"},
            sink={
                "sink": "iotdb-thrift-sink",
                "sink.node-urls": f"127.0.0.1:{port}",
                "sink.batch.enable": batching,
                **({"sink.batch.max-delay-ms": delay_ms} if delay_ms else {}),
            },
        )
        schema = [MeasurementSchema("s", "DOUBLE")]
        sent: dict[int, float] = {}
        for i in range(samples):
            t = 1_000_000 + i
            sent[t] = time.perf_counter()
            sender.store.insert_tablet(Tablet("root.lat.d1", schema, [t], [[float(i)]]))
            time.sleep(0.005)
        deadline = time.monotonic() + 30
        while len(arrived) < samples and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        delays = sorted((arrived[t] - s) * 1000 for t, s in sent.items() if t in arrived)
        if len(delays) < samples:
            raise RuntimeError(f"only {len(delays)} of {samples} rows arrived")
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    return p50, p99


# ------------------------------------------------------------------ main
def ratio(rates: dict[str, float], sink: str) -> str:
    """ ", x.xx of <baseline>" for the SSL and air-gap sinks, when the baseline ran."""
    base = BASELINE.get(sink)
    if base is None or base not in rates or sink not in rates:
        return ""
    return f"; {rates[sink] / rates[base]:.2f} x {base}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="1 M points, 0.25 GB, 100 samples")
    parser.add_argument("--only", choices=["stream", "batch", "latency"], action="append")
    parser.add_argument("--sink", choices=SINKS, action="append", help="only these sinks")
    args = parser.parse_args()
    sinks = [s for s in SINKS if s in (args.sink or SINKS)]
    logging.basicConfig(level=logging.ERROR)
    if args.quick:
        args.points, args.gigabytes, args.samples = 1_000_000, 0.25, 100
    parts = args.only or ["stream", "batch", "latency"]
    root = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    print(f"sync bench on loopback, {os.cpu_count()} cores, data in {root}")
    try:
        if "stream" in parts:
            rates: dict[str, float] = {}
            for sink in sinks:
                receiver = Receiver(root, f"stream-receiver-{sink}", sink)  # a fresh one each
                try:
                    rates[sink] = rate = stream(root, receiver, sink, args.points)
                finally:
                    receiver.close()
                print(
                    f"stream   {sink:24s} {rate / 1e6:7.2f} M points/s "
                    f"({args.points:,} points, tablets of 1,000 rows x 10 series)"
                    + ratio(rates, sink)
                )
        if "batch" in parts:
            files = make_tsfiles(root / "tsfiles", args.gigabytes)
            total = sum(p.stat().st_size for p, _ in files)
            reference = raw_copy(root, files)
            print(
                f"batch    {'raw loopback copy':27s} {reference / 1e6:7.1f} MB/s "
                f"({total / 1e9:.2f} GB in {len(files)} files, into files, fsynced)"
            )
            sent_rates: dict[str, float] = {}
            runs = [(s, "auto") for s in sinks]
            if "iotdb-air-gap-sink" in sinks:  # also without the rewrite to format 3
                runs.insert(runs.index(("iotdb-air-gap-sink", "auto")), ("iotdb-air-gap-sink", "4"))
            for sink, version in runs:
                receiver = Receiver(root, f"batch-receiver-{sink}-{version}", sink)
                try:
                    sent, loaded = batch(root, receiver, sink, files, total, version)
                finally:
                    receiver.close()
                label = sink if version == "auto" else f"{sink} v{version}"
                sent_rates[label] = sent
                base = BASELINE.get(sink)
                note = f"; {sent / sent_rates[base]:.2f} x {base}" if base in sent_rates else ""
                if sink == "iotdb-air-gap-sink" and version == "auto":
                    note += " (files rewritten as v3 first)"
                print(
                    f"batch    {label:27s} {sent / 1e6:7.1f} MB/s  ratio {sent / reference:.2f} "
                    f"of the raw copy; {loaded / 1e6:.1f} MB/s until all were loaded{note}"
                )
        if "latency" in parts:
            for batching, delay in (("false", None), ("true", None), ("true", "20")):
                p50, p99 = latency(root, batching, args.samples, delay)
                label = f"batch.enable={batching}" + (f", max-delay-ms={delay}" if delay else "")
                print(
                    f"latency  {label:32s} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                    f"({args.samples} inserts, insert -> receiver's store)"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
