"""Loading received TsFiles later (``load-tsfile-strategy=async``, reference §4.5).

The receiver answers the seal once the file is fsynced and moved into the node's
``system/pipe/load-pending/`` folder (renamed ``<sequence>-<name>``, with its ``.mods`` and a
small ``.json`` saying whose it is); one thread per node LOADs them in arrival order and
deletes them. Files still waiting when the node stops (or is killed) are loaded when it
starts again. A file that fails to load is moved to ``load-pending/failed/`` and logged.

Trade-off, as in IoTDB: the sender counts the file as delivered before it is visible, and a
write the sender makes later to the same series and time may be overwritten by the older
file when it loads after it.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from collections import deque
from pathlib import Path
from typing import Any

from pipecore_storage.origin import Origin

__all__ = ["AsyncLoader"]

log = logging.getLogger("pipecore.thrift_receiver")

_META = ".json"


class AsyncLoader:
    """The node's queue of received TsFiles to LOAD (a node service: `start`, `stop`)."""

    name = "pipe-load-pending"

    def __init__(self, store: Any, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.failed = folder / "failed"
        self._cond = threading.Condition()
        self._queue: deque[Path] = deque()
        self._seq = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._stopping = False
        folder.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ producer
    def submit(self, tsfile: Path, mods: Path | None, origin: Origin, verify: bool) -> Path:
        """Move `tsfile` (and `mods`) into the queue; durable when this returns."""
        with self._cond:
            seq = next(self._seq)
            target = self.folder / f"{seq:012d}-{tsfile.name}"
        meta = {
            "generated_by_pipe": origin.generated_by_pipe,
            "cluster_id": origin.cluster_id,
            "verify": verify,
        }
        _write_synced(target.with_name(target.name + _META), json.dumps(meta).encode())
        if mods is not None:
            os.replace(mods, target.with_name(target.name + ".mods"))
        os.replace(tsfile, target)
        _fsync_dir(self.folder)
        with self._cond:
            self._queue.append(target)
            self._cond.notify()
        return target

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # ------------------------------------------------------------------ service
    def start(self) -> None:
        """Queue the files left from an earlier run (in order), start the loading thread."""
        left = sorted(p for p in self.folder.glob("*.tsfile") if p.is_file())
        highest = 0
        with self._cond:
            for path in left:
                self._queue.append(path)
                highest = max(highest, int(path.name.split("-", 1)[0] or 0))
            self._seq = itertools.count(max(highest + 1, next(self._seq)))
        if left:
            log.info("loading %d received TsFiles left from the last run", len(left))
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="pipecore-load-pending", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """Whether the queue emptied within `timeout` seconds (tests, benchmarks)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._queue and not self._busy:
                    return True
            time.sleep(0.005)
        return False

    _busy = False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                path = self._queue[0]
                self._busy = True
            try:
                self._load(path)
            finally:
                with self._cond:
                    self._queue.popleft()
                    self._busy = False

    def _load(self, path: Path) -> None:
        meta_path = path.with_name(path.name + _META)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            origin = Origin(bool(meta.get("generated_by_pipe")), meta.get("cluster_id"))
            self.store.load_tsfile(path, origin, verify=bool(meta.get("verify", True)))
        except Exception as exc:
            log.error("a received TsFile could not be loaded: %s: %s", path.name, exc)
            self.failed.mkdir(exist_ok=True)
            for p in (path, path.with_name(path.name + ".mods"), meta_path):
                if p.exists():
                    os.replace(p, self.failed / p.name)
            return
        for p in (path, path.with_name(path.name + ".mods"), meta_path):
            p.unlink(missing_ok=True)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
