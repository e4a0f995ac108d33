"""A bounded backlog: a per-pipe disk cap on the sealed files a pipe keeps for its receiver.

While a pipe cannot deliver (its receiver is down), the files holding data it has not had
acknowledged pile up. With ``sink.backlog.max-bytes`` = N the pipe's **backlog** — every file
pinned for it (hard links under ``<store>/pipe/<name>/``: the sealed files it still owes,
pinned as soon as they are sealed) plus its down-sampled replacements (``<pipe data
dir>/backlog/``) — is held at N bytes or less, checked every `TICK_SECONDS`, by the
``sink.backlog.overflow-policy``:

* ``block`` (the default) — writers are back-pressured: client INSERT and LOAD are refused with
  ``WRITE_PROCESS_REJECT`` (606) and a message naming the pipe, until the pipe has delivered
  enough; nothing acknowledged to a writer is ever dropped.
* ``drop-oldest`` — the oldest owed files the sink does not hold yet are unpinned and never
  sent; the files, points and bytes dropped are counted.
* ``downsample`` — the oldest owed files are replaced by a down-sampled copy (the rule of
  IoTDB's ``tumbling-time-sampling-processor``: per series, a point at least
  ``sink.backlog.downsample-interval-seconds`` after the last one kept, see
  `tumbling_time_sample`), sent in their place; the points thinned away are counted. When
  replacing is not enough, the oldest replacements are dropped (and counted).

The store itself keeps no WAL for pipes (a pipe replays from sealed files and the
memtable), so only files count. Slack: a file sealed between two checks, and files the sink
already holds (at most ``pipe_sink_pending_queue_max_events`` file events: a file handed to
the sink is never pulled from under it) can exceed the cap until the next check.

What was dropped or thinned shows in SHOW PIPES' ExceptionMessage (`backlog_note`) and in
the pipe's metrics (`PipeStats.backlog_*`). The state (files skipped, counters, replacements
not yet sent) is kept in ``<pipe data dir>/backlog/state.json`` across restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from pipecore_storage.errors import PipecoreError
from pipecore_storage.fsutil import atomic_write
from pipecore_storage.origin import Origin
from pipecore_storage.resource import SealedFile
from pipecore_storage.tablet import Tablet
from pipecore_storage.tsfile import TsFileWriter

from .errors import PipeParameterNotValidError
from .parameters import PipeParameters

__all__ = [
    "BLOCK",
    "DOWNSAMPLE",
    "DROP_OLDEST",
    "BacklogFullError",
    "BacklogGuard",
    "BacklogOptions",
    "Replacement",
    "backlog_counts",
    "backlog_note",
    "check_writes",
    "parse_backlog",
    "tumbling_time_sample",
]

log = logging.getLogger(__name__)

MAX_BYTES_KEYS = [f"{p}backlog.max-bytes" for p in ("sink.", "connector.", "")]
POLICY_KEYS = [f"{p}backlog.overflow-policy" for p in ("sink.", "connector.", "")]
INTERVAL_KEYS = [f"{p}backlog.downsample-interval-seconds" for p in ("sink.", "connector.", "")]
BLOCK, DROP_OLDEST, DOWNSAMPLE = "block", "drop-oldest", "downsample"
POLICIES = (BLOCK, DROP_OLDEST, DOWNSAMPLE)
#: how often the backlog is measured and the policy applied
TICK_SECONDS = 0.2
#: IoTDB's status for a write the node refuses to take now (TSStatusCode.WRITE_PROCESS_REJECT)
WRITE_PROCESS_REJECT = 606


@attrs.frozen
class BacklogOptions:
    max_bytes: int
    policy: str = BLOCK
    interval_ms: int = 60_000


def parse_backlog(sink: PipeParameters | None) -> BacklogOptions | None:
    """The sink's backlog keys; None when ``sink.backlog.max-bytes`` is not set."""
    if sink is None:
        return None
    raw = sink.get_string_by_keys(*MAX_BYTES_KEYS)
    if raw is None:
        return None
    policy = (sink.get_string_by_keys(*POLICY_KEYS) or BLOCK).strip().lower()
    interval = sink.get_string_by_keys(*INTERVAL_KEYS) or "60"
    try:
        max_bytes = int(raw)
        seconds = float(interval)
    except ValueError:
        raise PipeParameterNotValidError(
            f"sink.backlog.max-bytes={raw!r} / downsample-interval-seconds={interval!r}: "
            "not a number"
        ) from None
    if max_bytes <= 0 or seconds <= 0:
        raise PipeParameterNotValidError(
            "sink.backlog.max-bytes and sink.backlog.downsample-interval-seconds must be > 0"
        )
    if policy not in POLICIES:
        raise PipeParameterNotValidError(
            f"sink.backlog.overflow-policy={policy!r}: expected one of {', '.join(POLICIES)}"
        )
    return BacklogOptions(max_bytes, policy, max(1, int(seconds * 1000)))


class BacklogFullError(PipecoreError):
    """A write refused because a pipe with ``overflow-policy=block`` is over its cap."""

    status_code = WRITE_PROCESS_REJECT


# ---------------------------------------------------------------------- registry
_lock = threading.Lock()
_guards: dict[tuple[int, str], BacklogGuard] = {}


def check_writes(store: Any) -> None:
    """Raise `BacklogFullError` when a blocking pipe of `store` is over its cap."""
    # the guard's thread looks every TICK_SECONDS; a file sealed since its last look (a FLUSH
    # between two writes) is measured now, so a write never slips past a full backlog
    blocked = [g for g in blocked_guards(store) if g.refresh()]
    if blocked:
        g = blocked[0]
        raise BacklogFullError(
            f"write refused: pipe {g.pipe}'s backlog is full ({g.size} bytes > "
            f"sink.backlog.max-bytes={g.options.max_bytes}, overflow-policy=block); "
            "retry when the pipe's receiver has caught up"
        )


def blocked_guards(store: Any) -> list[BacklogGuard]:
    """The running guards of `store` whose policy is ``block``."""
    with _lock:
        return [g for (sid, _), g in _guards.items() if sid == id(store) and g.policy_blocks]


def backlog_note(store: Any, pipe: str) -> str | None:
    """What the backlog policy did to a running pipe, for SHOW PIPES (None: nothing)."""
    with _lock:
        guard = _guards.get((id(store), pipe))
    return None if guard is None else guard.note()


def backlog_counts(pipe: str) -> dict[str, int]:
    """The counters of the running pipe `pipe` ({} when it has no cap) — for `PipeMetrics`,
    which knows pipes by name only (with several nodes in one process: the first found)."""
    with _lock:
        found = [g for (_, name), g in _guards.items() if name == pipe]
    return dict(found[0].counts) if found else {}


def guard_of(store: Any, pipe: str) -> BacklogGuard | None:
    with _lock:
        return _guards.get((id(store), pipe))


# ---------------------------------------------------------------------- down-sampling
def tumbling_time_sample(
    tablet: Tablet, interval_ms: int, last_kept: dict[str, int] | None = None
) -> Tablet | None:
    """The rule of IoTDB's ``tumbling-time-sampling-processor``, per series: a point is kept
    when it lies at least `interval_ms` after the series' last kept point (the first point
    is kept). `last_kept` (series path → time of its last kept point) carries the state across
    tablets of one device in time order. Rows left with no value are dropped; None when nothing
    is left. Unlike IoTDB, which forwards the whole row of a kept point, only the kept series'
    values stay. (A stand-in for the processors package's tumbling-time processor, to be
    swapped for it; numpy, with one step per *kept* point.)"""
    if not tablet.row_count:
        return None
    times = np.asarray(tablet.timestamps, dtype=np.int64)
    order = None if bool(np.all(times[1:] >= times[:-1])) else np.argsort(times, kind="stable")
    keep_cols = []
    for i, schema in enumerate(tablet.schemas):
        mask = tablet.null_masks[i]
        valid = np.ones(len(times), dtype=bool) if mask is None else ~np.asarray(mask)
        idx = np.flatnonzero(valid) if order is None else order[valid[order]]
        keep = np.zeros(len(times), dtype=bool)
        key = f"{tablet.device}.{schema.name}"
        last = None if last_kept is None else last_kept.get(key)
        if idx.size:
            t = times[idx]
            at = 0 if last is None else int(np.searchsorted(t, last + interval_ms, "left"))
            chosen = []
            while at < t.size:
                chosen.append(at)
                at = int(np.searchsorted(t, t[at] + interval_ms, "left"))
            if chosen:
                keep[idx[chosen]] = True
                if last_kept is not None:
                    last_kept[key] = int(t[chosen[-1]])
        keep_cols.append(keep)
    rows = np.logical_or.reduce(keep_cols) if keep_cols else np.zeros(len(times), dtype=bool)
    if not rows.any():
        return None
    picked = tablet.take(rows)
    masks = [None if k[rows].all() else ~k[rows] for k in keep_cols]
    return Tablet(
        picked.device, picked.schemas, picked.timestamps, picked.columns, masks, picked.aligned
    )


@attrs.frozen
class Replacement:
    """A down-sampled replacement file waiting to be sent."""

    path: Path
    device_times: dict[str, tuple[int, int]]
    points: int
    origin: Origin


# ---------------------------------------------------------------------- the guard
def _signature(sealed: list[SealedFile]) -> tuple[int, str]:
    return (len(sealed), sealed[-1].path.name if sealed else "")


class BacklogGuard:
    """The backlog cap of one running pipe (see the module docstring).

    The source calls `hand_on` before handing a sealed file to the sink (False: the file was
    dropped or replaced, skip it), `acknowledged` when its commit released files, and takes
    `next_replacement` / `replacement_sent` for down-sampled files. A thread measures and
    applies the policy."""

    def __init__(
        self,
        store: Any,
        pipe: str,
        data_dir: Path,
        options: BacklogOptions,
        owes: Callable[[SealedFile], bool],
        read: Callable[[SealedFile], Any],
        covered: int,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.pipe, self.options = store, pipe, options
        self.owes, self.read, self.wakeup = owes, read, wakeup
        self.folder = Path(data_dir) / "backlog"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.acked = covered  # writes below it are acknowledged by the receiver
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.in_flight: set[str] = set()  # file names the sink holds
        self.sent: dict[str, int] = {}  # name -> max_seq of files delivered
        self.pinned: dict[str, SealedFile] = {}  # what this guard pinned
        self.skipped: dict[str, int] = {}  # name -> max_seq: dropped or replaced
        self.replacements: list[Replacement] = []
        self.handed: set[str] = set()  # replacements the sink holds
        self.blocked = False
        self._files_seen: tuple[int, str] | None = None  # the sealed files at the last check
        self.size = 0
        self.counts = {
            "dropped_files": 0,
            "dropped_points": 0,
            "dropped_bytes": 0,
            "downsampled_files": 0,
            "thinned_points": 0,
            "blocked_checks": 0,
        }
        self._load()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with _lock:
            _guards[(id(self.store), self.pipe)] = self
        self._thread = threading.Thread(target=self._run, name=f"backlog-{self.pipe}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with _lock:
            if _guards.get((id(self.store), self.pipe)) is self:
                del _guards[(id(self.store), self.pipe)]
        with self._lock:
            self._save()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # never kill the guard; the next tick tries again
                log.exception("pipe %s: backlog check failed", self.pipe)

    # ------------------------------------------------------------------ the source's side
    def hand_on(self, f: SealedFile) -> bool:
        with self._lock:
            if f.path.name in self.skipped:
                return False
            self.in_flight.add(f.path.name)
            return True

    def acknowledged(self, covered: int | None, names: list[str]) -> None:
        with self._lock:
            if covered is not None:
                self.acked = max(self.acked, covered)
            for name in names:
                self.in_flight.discard(name)
                f = self.pinned.pop(name, None)
                if f is not None:
                    self._unpin(f)  # the guard's pin may have re-linked it
                self.sent[name] = f.max_seq if f is not None else self.acked
            self.sent = {n: m for n, m in self.sent.items() if m >= self.acked}
            self.skipped = {n: m for n, m in self.skipped.items() if m >= self.acked}

    def next_replacement(self) -> Replacement | None:
        with self._lock:
            for r in self.replacements:
                if r.path.name not in self.handed:
                    self.handed.add(r.path.name)
                    return r
        return None

    def waiting_replacements(self) -> int:
        """Replacements not handed to the sink yet (for RemainingEventCount)."""
        with self._lock:
            return sum(1 for r in self.replacements if r.path.name not in self.handed)

    def replacement_sent(self, path: Path) -> None:
        with self._lock:
            self.replacements = [r for r in self.replacements if r.path != path]
            self.handed.discard(path.name)
            path.unlink(missing_ok=True)
            self._save()

    # ------------------------------------------------------------------ reporting
    def note(self) -> str | None:
        c = self.counts
        parts = []
        if self.blocked:
            parts.append(
                f"backlog full ({self.size} > {self.options.max_bytes} bytes): writes refused"
            )
        if c["dropped_files"]:
            parts.append(
                f"backlog dropped {c['dropped_files']} files, {c['dropped_points']} points, "
                f"{c['dropped_bytes']} bytes"
            )
        if c["downsampled_files"]:
            parts.append(
                f"backlog down-sampled {c['downsampled_files']} files, "
                f"{c['thinned_points']} points thinned"
            )
        return "; ".join(parts) or None

    # ------------------------------------------------------------------ the check
    @property
    def policy_blocks(self) -> bool:
        return self.options.policy == BLOCK

    def refresh(self) -> bool:
        """Whether writes are refused, measured again first when the store's sealed files
        changed since the last check."""
        if self._files_seen != _signature(self.store.sealed_files()):
            self.tick()
        return self.blocked

    def measure(self) -> int:
        total = 0
        for root in (self.store.layout.pipe_folder(self.pipe), self.folder):
            if not root.is_dir():
                continue
            for p in root.rglob("*"):
                with contextlib.suppress(OSError):
                    if p.is_file():
                        total += p.stat().st_size
        return total

    def tick(self) -> None:
        """Pin what the pipe owes, measure, and apply the policy."""
        with self._lock:
            owed = {}
            sealed = self.store.sealed_files()
            self._files_seen = _signature(sealed)
            for f in sealed:
                name = f.path.name
                if f.max_seq < self.acked or name in self.sent or name in self.skipped:
                    continue
                if self.owes(f):
                    owed[name] = f
            for name, f in owed.items():
                if name not in self.pinned:
                    try:
                        self.store.pin(f, self.pipe)
                    except PipecoreError:
                        continue
                    self.pinned[name] = f
            for name in [n for n in self.pinned if n not in owed and n not in self.in_flight]:
                self._unpin(self.pinned.pop(name))
            self.size = self.measure()
            over = self.size > self.options.max_bytes
            if self.options.policy == BLOCK:
                if over != self.blocked:
                    log.warning(
                        "pipe %s: backlog %d bytes, cap %d: writes %s",
                        self.pipe, self.size, self.options.max_bytes,
                        "refused" if over else "accepted again",
                    )  # fmt: skip
                self.blocked = over
                self.counts["blocked_checks"] += int(over)
                return
            if not over:
                return
            victims = sorted(
                (f for n, f in self.pinned.items() if n not in self.in_flight),
                key=lambda f: (f.max_seq, f.path.name),
            )
            for f in victims:
                if self.size <= self.options.max_bytes:
                    break
                if self.options.policy == DOWNSAMPLE:
                    self._downsample(f)
                else:
                    self._drop(f)
                self.size = self.measure()
            if self.options.policy == DOWNSAMPLE:
                for r in list(self.replacements):
                    if self.size <= self.options.max_bytes:
                        break
                    if r.path.name not in self.handed:
                        self._drop_replacement(r)
                        self.size = self.measure()
            self._save()
        self.wakeup()

    def _unpin(self, f: SealedFile) -> None:
        try:
            self.store.unpin(f, self.pipe)
        except (PipecoreError, OSError) as exc:
            log.warning("pipe %s: unpin %s: %s", self.pipe, f.path.name, exc)

    def _file_bytes(self, f: SealedFile) -> int:
        total = 0
        for p in f.side_paths():
            with contextlib.suppress(OSError):
                total += p.stat().st_size
        return total

    def _drop(self, f: SealedFile) -> None:
        name = f.path.name
        self.skipped[name] = f.max_seq
        self.pinned.pop(name, None)
        self.counts["dropped_files"] += 1
        self.counts["dropped_points"] += int(f.points)
        self.counts["dropped_bytes"] += self._file_bytes(f)
        self._unpin(f)
        log.warning("pipe %s: backlog over cap: dropped %s (%d points)", self.pipe, name, f.points)

    def _drop_replacement(self, r: Replacement) -> None:
        self.replacements.remove(r)
        self.counts["dropped_files"] += 1
        self.counts["dropped_points"] += r.points
        with contextlib.suppress(OSError):
            self.counts["dropped_bytes"] += r.path.stat().st_size
        r.path.unlink(missing_ok=True)

    def _downsample(self, f: SealedFile) -> None:
        name = f.path.name
        target = self.folder / f"{f.path.stem}-ds.tsfile"
        points = 0
        device_times: dict[str, tuple[int, int]] = {}
        last_kept: dict[str, int] = {}
        writer: TsFileWriter | None = None
        try:
            for tablet in self.read(f):
                small = tumbling_time_sample(tablet, self.options.interval_ms, last_kept)
                if small is None:
                    continue
                if writer is None:
                    writer = TsFileWriter(target)
                writer.write_tablet(small)
                points += small.point_count()
                t = small.timestamps
                a, b = device_times.get(small.device, (int(t[0]), int(t[-1])))
                device_times[small.device] = (min(a, int(t.min())), max(b, int(t.max())))
        finally:
            if writer is not None:
                writer.close()
        self.skipped[name] = f.max_seq
        self.pinned.pop(name, None)
        self._unpin(f)
        self.counts["downsampled_files"] += 1
        self.counts["thinned_points"] += max(0, int(f.points) - points)
        if writer is not None:
            self.replacements.append(Replacement(target, device_times, points, f.origin))
        log.warning(
            "pipe %s: backlog over cap: %s (%d points) down-sampled to %d points",
            self.pipe, name, f.points, points,
        )  # fmt: skip

    # ------------------------------------------------------------------ state
    def _state_path(self) -> Path:
        return self.folder / "state.json"

    def _save(self) -> None:
        record = {
            "skipped": self.skipped,
            "counts": self.counts,
            "replacements": [
                {
                    "path": r.path.name,
                    "devices": {d: list(t) for d, t in r.device_times.items()},
                    "points": r.points,
                    "pipe_origin": r.origin.generated_by_pipe,
                    "cluster_id": r.origin.cluster_id,
                }
                for r in self.replacements
            ],
        }
        atomic_write(self._state_path(), json.dumps(record).encode())

    def _load(self) -> None:
        try:
            record = json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return
        self.skipped = {str(k): int(v) for k, v in record.get("skipped", {}).items()}
        self.counts.update({k: int(v) for k, v in record.get("counts", {}).items()})
        for r in record.get("replacements", []):
            path = self.folder / r["path"]
            if path.exists():
                devices = {d: (int(t[0]), int(t[1])) for d, t in r["devices"].items()}
                origin = Origin(bool(r.get("pipe_origin")), r.get("cluster_id"))
                self.replacements.append(Replacement(path, devices, int(r["points"]), origin))
