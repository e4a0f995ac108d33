"""Poison events: what a sink keeps refusing goes aside instead of stopping its pipe forever.

IoTDB stops a pipe whose sink raises anything but a connection error (reference §9.4), and the
pipe then fails again on the same event after every restart: one bad tablet (a type conflict
the receiver answers 1003/1810 for) holds up everything behind it. With the sink parameter
``sink.quarantine.max-tries`` = N > 0 (default 0: IoTDB's behaviour), the runtime instead
retries such an event up to N times (a back-off of ``pipe_sink_retry_interval_ms`` × tries) and
then writes it to the pipe's **quarantine** and goes on:

    <data dir>/pipe/quarantine/<pipe>/<id>.tsfile        the event's data (a sealed TsFile)
    <data dir>/pipe/quarantine/<pipe>/<id>.tsfile.mods   a TsFile event's deletions, if any
    <data dir>/pipe/quarantine/<pipe>/<id>.json          why: the error, tries, time, kind

``SHOW QUARANTINE [pipe]`` lists the entries; ``REPLAY QUARANTINE [pipe]`` sends them again
through a sink of the pipe's own (after the cause is fixed) and removes those that went
through. Both survive restarts, RESET PROGRESS and ALTER PIPE; DROP PIPE leaves them too (an
operator removes the folder).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import attrs

from pipecore_storage.fsutil import atomic_write, child_path
from pipecore_storage.tsfile import TsFileWriter

from .events import Event, TabletInsertionEvent, TsFileInsertionEvent

__all__ = [
    "MAX_TRIES_KEYS",
    "Quarantine",
    "QuarantineEntry",
    "list_entries",
    "quarantine_root",
    "replay",
]

log = logging.getLogger(__name__)

MAX_TRIES_KEYS = ["sink.quarantine.max-tries", "connector.quarantine.max-tries"]
RETRY, QUARANTINED, FAIL = "retry", "quarantined", "fail"


def quarantine_root(data_dir: Path) -> Path:
    """``<node data dir>/pipe/quarantine``."""
    return Path(data_dir) / "pipe" / "quarantine"


def _pipe_dir(root: Path, pipe: str) -> Path:
    return child_path(root, quote(pipe, safe=""), "pipe name")


@attrs.frozen
class QuarantineEntry:
    pipe: str
    id: str
    kind: str  # tablet | tsfile | event
    points: int
    bytes: int
    tries: int
    time: int  # epoch ms
    reason: str
    path: Path | None  # the TsFile, None for an event without data


class Quarantine:
    """The quarantine of one running pipe: counts the tries of each refused event and puts
    it aside after `max_tries`."""

    def __init__(self, root: Path, pipe: str, max_tries: int) -> None:
        self.folder = _pipe_dir(root, pipe)
        self.pipe = pipe
        self.max_tries = max_tries
        self._tries: dict[int, int] = {}
        self._lock = threading.Lock()
        self.quarantined = 0

    def verdict(self, event: Event, error: BaseException) -> str:
        """RETRY (try again later), QUARANTINED (put aside: the event is done) or FAIL."""
        if self.max_tries <= 0:
            return FAIL
        with self._lock:
            tries = self._tries.get(id(event), 0) + 1
            self._tries[id(event)] = tries
        if tries < self.max_tries:
            log.warning("pipe %s: sink refused an event (try %d): %s", self.pipe, tries, error)
            return RETRY
        try:
            self.put(event, error, tries)
        except OSError as exc:
            log.error("pipe %s: cannot quarantine an event: %s", self.pipe, exc)
            return FAIL
        with self._lock:
            self._tries.pop(id(event), None)
        return QUARANTINED

    def put(self, event: Event, error: BaseException, tries: int) -> QuarantineEntry:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry_id = f"{time.time_ns():020d}-{os.getpid()}"
        data = self.folder / f"{entry_id}.tsfile"
        kind, points = "event", 0
        if isinstance(event, TabletInsertionEvent):
            with TsFileWriter(data) as writer:
                writer.write_tablet(event.tablet)
            kind, points = "tablet", event.point_count
        elif isinstance(event, TsFileInsertionEvent):
            shutil.copyfile(event.path, data)
            mods = getattr(event, "mods_path", None)
            if mods is not None and Path(mods).exists():
                shutil.copyfile(mods, data.with_name(data.name + ".mods"))
            kind = "tsfile"
            points = _points_of(event)
        reason = {
            "pipe": self.pipe,
            "kind": kind,
            "points": points,
            "tries": tries,
            "time": int(time.time() * 1000),
            "reason": f"{type(error).__name__}: {error}",
            "event": repr(event)[:500] if kind == "event" else None,
        }
        atomic_write(self.folder / f"{entry_id}.json", json.dumps(reason).encode())
        self.quarantined += 1
        log.warning(
            "pipe %s: event quarantined as %s after %d tries: %s", self.pipe, entry_id, tries, error
        )
        return _entry(self.folder / f"{entry_id}.json")


def _points_of(event: TsFileInsertionEvent) -> int:
    try:
        return sum(t.point_count for t in event.to_tablet_insertion_events())
    except (OSError, ValueError) as exc:  # unreadable: the entry still keeps the file
        log.warning("quarantine: cannot count the points of %s: %s", event.path, exc)
        return 0


def _entry(meta: Path) -> QuarantineEntry:
    record = json.loads(meta.read_text())
    data = meta.with_suffix(".tsfile")
    return QuarantineEntry(
        pipe=record.get("pipe") or unquote(meta.parent.name),
        id=meta.stem,
        kind=record.get("kind", "event"),
        points=int(record.get("points") or 0),
        bytes=data.stat().st_size if data.exists() else 0,
        tries=int(record.get("tries") or 0),
        time=int(record.get("time") or 0),
        reason=str(record.get("reason") or ""),
        path=data if data.exists() else None,
    )


def list_entries(root: Path, pipe: str | None = None) -> list[QuarantineEntry]:
    """Entries of one pipe or all, oldest first."""
    if not root.exists():
        return []
    folders = [_pipe_dir(root, pipe)] if pipe is not None else sorted(root.iterdir())
    out = []
    for folder in folders:
        for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                out.append(_entry(meta))
            except (OSError, ValueError) as exc:
                log.warning("unreadable quarantine entry %s: %s", meta, exc)
    return out


def replay(manager: Any, root: Path, pipe: str | None = None) -> tuple[int, int, list[str]]:
    """Send the entries again through a sink of each pipe's own; (sent, points, failures)."""
    from .verify import pipe_stage  # (verify imports the runtime, which imports this module)

    sent = points = 0
    failures: list[str] = []
    entries = list_entries(root, pipe)
    for name in sorted({e.pipe for e in entries}):
        mine = [e for e in entries if e.pipe == name]
        with pipe_stage(manager, name, "sink") as sink:
            for entry in mine:
                try:
                    points += _send(manager, sink, entry)
                except Exception as exc:
                    failures.append(f"{entry.id}: {type(exc).__name__}: {exc}")
                    continue
                folder = _pipe_dir(root, entry.pipe)
                for suffix in (".tsfile", ".tsfile.mods", ".json"):
                    (folder / f"{entry.id}{suffix}").unlink(missing_ok=True)
                sent += 1
    return sent, points, failures


def _send(manager: Any, sink: Any, entry: QuarantineEntry) -> int:
    if entry.path is None:
        return 0  # an event without data: nothing to send again
    points = 0
    timeout = manager.config.pipe.pipe_sink_timeout_ms / 1000.0
    for tablet in manager.store.read_sealed(entry.path):
        outcome = sink.call["connector_transfer_tablet"](TabletInsertionEvent(tablet))
        if outcome is not None:
            outcome.result(timeout=timeout)
        points += tablet.point_count()
    return points
