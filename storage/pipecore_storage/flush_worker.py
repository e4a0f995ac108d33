"""Sealing large memtables in a worker process, away from the interpreter lock of the writers.

Encoding a TsFile is tens of milliseconds of numpy calls with Python in between for every
million points. In the process that also serves writes, that Python holds the interpreter lock
the request threads need: a request waits for it at every socket read, WAL write and numpy
call, and every write's answer comes late (at 10,000-point tablets, twice the server's own
time per request). So a memtable of at least `flush_worker_min_memtable_bytes` is written by a
worker process: the flush thread hands it the device tablets (their arrays go through a pipe
as raw buffers, pickle protocol 5 out of band: no copy on this side, which waits for the
answer without holding the lock), the worker writes, fsyncs and closes the TsFile with the
very code the flush uses in-process (`write_tablets`) and answers with what the file holds.

The worker is a ``python`` running `main`, started at the first large flush
and kept while the store is open (it ends when its stdin closes, and on Linux when this
process dies). Anything that goes wrong with it (it cannot start, dies, answers with an error)
makes the flush write that file in-process as before, which then succeeds or raises the
error it always raised; a worker that failed is not used again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .fsutil import fsync_file, writev_all
from .memtable import DeviceData, MemChunk, device_tablet
from .origin import CLIENT
from .tablet import MeasurementSchema, Tablet
from .tsfile import TsFileWriter

__all__ = [
    "DeviceSnapshot",
    "FlushWorker",
    "WorkerError",
    "main",
    "memtable_tablets",
    "write_tablets",
]

log = logging.getLogger(__name__)

_HEAD = struct.Struct("<QI")  # pickled header length, buffer count
_SIZE = struct.Struct("<Q")
_PIPE_SIZE = 1 << 20  # F_SETPIPE_SZ: fewer wake-ups per megabyte
_WORKER_MAIN = "import sys; from pipecore_storage.flush_worker import main; sys.exit(main())"


class WorkerError(Exception):
    """The worker could not write the file (the caller writes it in-process instead)."""


def write_tablets(
    path: str | os.PathLike[str], format_version: int, tablets: Sequence[Tablet]
) -> tuple[dict[str, tuple[int, int]], int]:
    """Write the device tablets (sorted, deduplicated, schemas as sealed) as one TsFile at
    `path`, fsynced; (device -> (first, last time), points). A failure removes the file."""
    device_times: dict[str, tuple[int, int]] = {}
    points = 0
    writer = TsFileWriter(path, format_version=format_version)
    try:
        for tablet in tablets:
            if tablet.aligned:
                writer.register_aligned_timeseries(tablet.device, tablet.schemas)
            else:
                for s in tablet.schemas:
                    writer.register_timeseries(tablet.device, s)
            writer.write_tablet(tablet)
            device_times[tablet.device] = (int(tablet.timestamps[0]), int(tablet.timestamps[-1]))
            points += tablet.point_count()
    except BaseException:
        writer.close()
        Path(path).unlink(missing_ok=True)
        raise
    writer.close()
    if device_times:
        fsync_file(os.fspath(path))  # the directory is fsynced when the .resource is renamed in
    else:
        Path(path).unlink(missing_ok=True)
    return device_times, points


# ---------------------------------------------------------------------- messages
def _send(fd: int, meta: object, raws: Sequence[memoryview] = ()) -> None:
    """One message: header, buffer sizes, the pickled `meta`, then the raw buffers as they
    are (os.writev: nothing is copied on this side)."""
    body = pickle.dumps(meta, protocol=5)
    head = _HEAD.pack(len(body), len(raws)) + b"".join(_SIZE.pack(r.nbytes) for r in raws)
    writev_all(fd, [head, body, *raws])


def _read_exact(stream: IO[bytes], size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            raise EOFError(f"the pipe closed after {got} of {size} bytes")
        got += n
    return buf


def _receive(stream: IO[bytes]) -> tuple[Any, list[bytearray]]:
    head = stream.read(_HEAD.size)
    if not head:
        raise EOFError("no message")
    if len(head) != _HEAD.size:
        raise EOFError("a torn message header")
    body_size, count = _HEAD.unpack(head)
    sizes = [_SIZE.unpack(_read_exact(stream, _SIZE.size))[0] for _ in range(count)]
    meta = pickle.loads(_read_exact(stream, body_size))
    return meta, [_read_exact(stream, size) for size in sizes]


# ---------------------------------------------------------------------- memtables
DeviceSnapshot = tuple[str, DeviceData, Sequence[MemChunk], Mapping[str, MeasurementSchema]]
"""(device, its memtable data, the chunks to seal, {measurement: schema it is sealed with})."""


def memtable_tablets(devices: Sequence[DeviceSnapshot]) -> list[Tablet]:
    """The sorted, deduplicated tablet of each device (none for a device without points),
    with the schemas the series are sealed with."""
    tablets = []
    for _device, data, chunks, sealed in devices:
        tablet = device_tablet(data, chunks)
        if tablet is not None:
            tablet.schemas = [sealed[s.name] for s in tablet.schemas]
            tablets.append(tablet)
    return tablets


def _raw(arr: np.ndarray) -> memoryview:
    """The array's bytes (a memoryview of its own format: `writev_all` takes it as it is)."""
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return arr.data


def _encode_devices(devices: Sequence[DeviceSnapshot]) -> tuple[list, list[memoryview]]:
    """The chunks as they are: a description, and their arrays as raw buffers in order (the
    worker joins, sorts and deduplicates them with `device_tablet`, as a flush here would).
    TEXT/BLOB values go in the description (pickled)."""
    described, raws = [], []
    for device, data, chunks, sealed in devices:
        chunk_list = []
        for chunk in chunks:
            raws.append(_raw(chunk.times))
            columns: list[tuple[str, str | None, np.ndarray | None, bool]] = []
            for name, (values, mask) in chunk.columns.items():
                if values.dtype.kind == "O":
                    columns.append((name, None, values, mask is not None))
                else:
                    columns.append((name, values.dtype.str, None, mask is not None))
                    raws.append(_raw(values))
                if mask is not None:
                    raws.append(_raw(mask.astype(np.bool_, copy=False)))
            chunk_list.append((chunk.times.dtype.str, columns))
        head = (device, data.nodes, data.aligned, dict(data.schemas), dict(sealed))
        described.append((head, chunk_list))
    return described, raws


def _decode_devices(described: list, raws: list[bytearray]) -> list[DeviceSnapshot]:
    it = iter(raws)
    devices: list[DeviceSnapshot] = []
    for (device, nodes, aligned, schemas, sealed), chunk_list in described:
        data = DeviceData(device, nodes, aligned, schemas)
        chunks = []
        for times_dtype, columns in chunk_list:
            times = np.frombuffer(next(it), dtype=times_dtype)
            cols: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
            for name, dtype, values, has_mask in columns:
                if dtype is not None:
                    values = np.frombuffer(next(it), dtype=dtype)
                mask = np.frombuffer(next(it), dtype=np.bool_) if has_mask else None
                cols[name] = (values, mask)
            chunks.append(MemChunk(-1, CLIENT, times, cols))
        devices.append((device, data, chunks, sealed))
    if next(it, None) is not None:
        raise ValueError("buffers left over after the last chunk")
    return devices


# ---------------------------------------------------------------------- parent side
class FlushWorker:
    """The store's worker process (started on first use; one request at a time)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.broken = False  # set when the worker failed: flushes stay in-process
        self.files = 0  # files the worker wrote (for tests and the curious)

    def write(
        self, path: str | os.PathLike[str], format_version: int, devices: Sequence[DeviceSnapshot]
    ) -> tuple[dict[str, tuple[int, int]], int]:
        """`write_tablets` of `memtable_tablets` in the worker; WorkerError when it did not
        write the file."""
        with self._lock:
            if self.broken:
                raise WorkerError("the flush worker failed before")
            try:
                proc = self._started()
                assert proc.stdin is not None and proc.stdout is not None
                described, raws = _encode_devices(devices)
                _send(proc.stdin.fileno(), (os.fspath(path), format_version, described), raws)
                answer, _ = _receive(proc.stdout)
            except (OSError, EOFError, pickle.PickleError, ValueError) as exc:
                self._fail(f"the flush worker failed ({exc!r}); flushing in-process from now on")
                raise WorkerError(str(exc)) from exc
            if answer[0] != "ok":
                raise WorkerError(answer[1])  # the file's own problem: the caller retries
            self.files += 1
            return answer[1], answer[2]

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            raise OSError(f"the flush worker exited with {self._proc.returncode}")
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parents[1])  # the folder holding pipecore_storage
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert self._proc.stdin is not None
        _grow_pipe(self._proc.stdin.fileno())
        return self._proc

    def _fail(self, message: str) -> None:
        log.warning(message)
        self.broken = True
        self._stop()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()  # the worker ends at the end of its input
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _grow_pipe(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)


# ---------------------------------------------------------------------- the worker
def _die_with_parent() -> None:
    """On Linux, be killed when the process that started us dies (no orphan writing on)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl
            os._exit(0)


def main() -> int:
    """The worker's loop: one request in, one answer out, until stdin ends."""
    _die_with_parent()
    with contextlib.suppress(ValueError, OSError):  # Ctrl+C is for the node, which ends us
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    out = os.dup(1)  # answers go here; anything printed goes to stderr, not into an answer
    os.dup2(2, 1)
    while True:
        try:
            (path, format_version, described), raws = _receive(stdin)
        except EOFError:
            return 0
        try:
            tablets = memtable_tablets(_decode_devices(described, raws))
            del raws
            device_times, points = write_tablets(path, format_version, tablets)
        except Exception as exc:  # the parent writes the file in-process and sees it there
            _send(out, ("error", f"{type(exc).__name__}: {exc}"))
            continue
        _send(out, ("ok", device_times, points))
