"""`IoTDBSource` — the ``iotdb-source`` plugin (alias ``iotdb-extractor``).

History, then realtime (reference §10.3):

1. A new pipe flushes the store and takes the **boundary** B = `Store.sealed_below()`: every
   write below B is in a sealed file. History is the sealed files holding writes below B
   (`min_seq < B`), in sealing order, filtered by the history range, the pattern and — with
   ``forwarding-pipe-requests=false`` — their origin; they are pinned at once. Realtime is
   every write from B on: a subscription with ``replay_from=B`` (see `realtime`). Taking the
   files and subscribing need no lock: the sequence numbers say which side a write is on.
2. History files are supplied first; realtime events wait in the subscription meanwhile.

Progress (the value committed with each event): ``{"b": B, "h": H, "r": R}`` — the boundary,
the sealing sequence number of the last history file handed on (history files are handed on
in that order), and the realtime ``covered`` R. A restart takes the history files after H and
subscribes from R: files not acknowledged are sent again, realtime resumes from the last
acknowledged sequence number (replayed from sealed files and the recovered memtable). The
progress also holds ``"k"``, the store's schema-history index when the pipe was created
(`Store.schema_position`): the replay brings the schema changes made after write R - 1 that
are the pipe's own (`realtime`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from pipecore import (
    SCHEMA_TEMPLATES_KEY,
    USERS_KEY,
    BacklogGuard,
    DeletionEvent,
    Event,
    Extractor,
    HeartbeatEvent,
    PipeError,
    PipeParameters,
    PipeParameterValidator,
    PipeScope,
    Replacement,
    RuntimeConfiguration,
    SchemaEvent,
    SourceBacklog,
    TabletInsertionEvent,
    auth_snapshot,
    parse_backlog,
    ttl_table,
)
from pipecore_storage.errors import CorruptFileError, PipecoreError
from pipecore_storage.files import PinError
from pipecore_storage.fsutil import atomic_write
from pipecore_storage.resource import SealedFile, load_sealed

from .events import SourceTsFileInsertionEvent
from .files import file_event, needs_split, split_events, takes_file
from .options import SourceOptions, parse_options
from .patterns import filter_tablet
from .privileged import check_skipif, narrow_to_user
from .realtime import Realtime, RealtimeItem
from .schema import schema_records
from .scope import scope_of

__all__ = ["IoTDBSource", "SourceLag"]

log = logging.getLogger(__name__)

#: at most this often, a heartbeat carries realtime progress no data event carried
_PROGRESS_EVERY = 1.0


@attrs.frozen
class SourceLag:
    """How far behind the source is: events and bytes it still holds or knows are coming, and
    when (epoch ms) the oldest data not yet acknowledged by the sink was taken (None when
    nothing is pending)."""

    remaining_events: int
    remaining_bytes: int
    oldest_unsent_ms: int | None


@attrs.define
class _HistoryFile:
    file: SealedFile
    pinned: Path


class IoTDBSource(Extractor):
    """Extracts what the node's store holds (history) and receives (realtime)."""

    options: SourceOptions
    schema_options: SourceOptions  # `options` with the pattern narrowed by READ_SCHEMA

    def __init__(self) -> None:
        self.store: Any = None
        self.realtime: Realtime | None = None
        self.history: deque[_HistoryFile] = deque()
        self.boundary = 0
        self.history_done_seq = -1
        self.schema_from = 0  # the store's schema-history index at the pipe's creation
        self._pending: Iterator[Event] | None = None
        self._held: list[tuple[Event, str]] = []  # (event, pinned path) released on commit
        self._oldest_ms: int | None = None
        self._last_supplied: Event | None = None
        self._last_progress: tuple[int, float] = (-1, time.monotonic())
        self.backlog: BacklogGuard | None = None  # sink.backlog.max-bytes (pipecore.backlog)
        self._held_replacements: list[tuple[Event, Path]] = []
        self._committed = 0
        self._finished = False

    # ------------------------------------------------------------------ hooks
    def extractor_validate(self, validator: PipeParameterValidator) -> None:
        parse_options(validator.parameters)
        check_skipif(validator.parameters)

    def extractor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().extractor_customize(parameters, configuration)
        # a source running as a user takes only what the user may read (`privileged`)
        self.options, self.schema_options = narrow_to_user(
            parameters,
            parse_options(parameters),
            configuration.shared.get(USERS_KEY, lambda: None),
            configuration.pipe_name,
        )
        self.store = configuration.store
        if self.store is None:
            raise PipeError(
                "iotdb-source needs the node's store; this node has none", configuration.pipe_name
            )

    def extractor_scope(self) -> PipeScope | None:
        return scope_of(self.options)

    def extractor_start(self) -> None:
        resend_from = _resend_from(self.configuration.progress)
        if resend_from is not None:  # ALTER PIPE … SET PROGRESS: history from that time on
            self.options = attrs.evolve(
                self.options,
                history_enabled=True,
                history_start=max(self.options.history_start, resend_from),
            )
        progress = _progress(self.configuration.progress) or self._saved_boundary()
        name = self.configuration.pipe_name
        if progress is None:
            self.schema_from = getattr(self.store, "schema_position", 0)
            self.store.unpin_all(name)  # left behind by a dropped pipe of the same name
            self.store.flush()
            self.boundary = self.store.sealed_below()
            self._save_boundary()
            covered = self.boundary
        else:
            self.boundary, self.history_done_seq, covered = progress
            self.schema_from = _schema_from(self.configuration.progress, self._saved_record())
        if self.options.realtime_enabled:
            self.realtime = Realtime(
                self.store,
                name,
                self.options,
                covered,
                self.configuration.facts,
                wakeup=lambda: self.configuration.wakeup(),
                schema_from=self.schema_from,
            )
            self.realtime.open()
        if self.options.include_schema and self.options.history_enabled:
            # after subscribing: a change meanwhile comes again in realtime (applied
            # idempotently by a receiver) rather than not at all
            snapshot = self._schema_snapshot()
            if snapshot is not None:
                self._pending = iter([snapshot])
        self._take_history(resumed=progress is not None, covered=covered)
        self._start_backlog(covered)
        log.info(
            "pipe %s: iotdb-source starts: %d history files, realtime %s from seq %d",
            name,
            len(self.history),
            self.options.realtime_mode if self.realtime else "off",
            covered,
        )

    def _schema_snapshot(self) -> SchemaEvent | None:
        """The node's whole schema (templates, users, TTL as the options select) as one
        snapshot event; None when the pipe takes none of it."""
        templates = self.configuration.shared.get(SCHEMA_TEMPLATES_KEY, lambda: None)
        snapshot = (
            templates.schema_snapshot(self.store)
            if templates is not None
            else self.store.schema_records()
        )
        if self.options.include_auth:
            snapshot = [*snapshot, *self._auth_snapshot()]
        ttl = ttl_table(self.store)
        if ttl is not None and self.options.include_ttl:
            snapshot = [*snapshot, *ttl.snapshot_records()]
        records = schema_records(snapshot, self.schema_options)
        return SchemaEvent(records=records, snapshot=True) if records else None

    def _auth_snapshot(self) -> list[dict]:
        """The node's users, roles and privileges as auth records (none without a users
        file: a store outside a node)."""
        users = self.configuration.shared.get(USERS_KEY, lambda: None)
        return auth_snapshot(users.document()) if users is not None else []

    def extractor_supply(self) -> Event | None:
        while True:
            if self._pending is not None:
                event = next(self._pending, None)
                if event is not None:
                    return self._supplied(event)
                self._pending = None
            if self.backlog is not None:
                replacement = self.backlog.next_replacement()
                if replacement is not None:
                    return self._supplied(self._replacement_event(replacement))
            if self.history:
                self._pending = self._history_events(self.history.popleft())
                continue
            if self.realtime is None:
                self._maybe_finished()
                return None
            item = self.realtime.poll()
            if item is None:
                if self.realtime.has_more:
                    self.configuration.wakeup()
                return self._progress_heartbeat()
            self._pending = self._realtime_events(item)

    def extractor_commit(self, commit_id: int, progress: Any) -> None:
        keep = []
        released = []
        for event, pinned in self._held:
            if event.commit_id is not None and event.commit_id <= commit_id:
                self._unpin(pinned)
                released.append(Path(pinned).name)
            else:
                keep.append((event, pinned))
        self._held = keep
        if self.backlog is not None:
            self._backlog_commit(commit_id, progress, released)
        last = self._last_supplied
        done = last is not None and last.commit_id is not None and last.commit_id <= commit_id
        if done and not self._has_input():
            self._oldest_ms = None
        self._committed = max(self._committed, commit_id)
        self._maybe_finished()

    def _maybe_finished(self) -> None:
        """A snapshot (``mode=query``) source whose history went out and was committed tells
        the runtime it is finished: the pipe drops itself, as IoTDB's does."""
        if self._finished or not self.options.snapshot or self._has_input():
            return
        last = self._last_supplied
        if last is not None and (last.commit_id is None or last.commit_id > self._committed):
            return
        self._finished = True
        log.info("pipe %s: snapshot sent", self.configuration.pipe_name)
        self.configuration.finished()

    def extractor_remaining_events(self) -> int | None:
        count = len(self.history) + (1 if self._pending is not None else 0)
        if self.realtime is not None:
            count += self.realtime.remaining_events()
        if self.backlog is not None:
            count += self.backlog.waiting_replacements()
        return count

    def extractor_backlog(self) -> SourceBacklog:
        """Events, points and bytes still to send: unsent history files (their recorded
        points, their size), what the realtime subscription holds, and — in file mode — the
        memtables' data waiting to be sealed (`Realtime.backlog`). A file being split into
        tablets right now counts as one event of unknown size."""
        try:
            pending = list(self.history)
        except RuntimeError:  # popped by the source's thread meanwhile
            pending = []
        points = sum(h.file.points for h in pending)
        size = 0
        for h in pending:
            with contextlib.suppress(OSError):
                size += h.pinned.stat().st_size
        if self.realtime is not None:
            more_points, more_bytes = self.realtime.backlog()
            points += more_points
            size += more_bytes
        return SourceBacklog(self.extractor_remaining_events(), points, size)

    def extractor_close(self) -> None:
        if self.backlog is not None:
            self.backlog.close()
            self.backlog = None
        if self.realtime is not None:
            self.realtime.close()
        self._pending = None

    # ------------------------------------------------------------------ lag
    def lag(self) -> SourceLag:
        """Remaining events and bytes and the oldest unacknowledged data (for SHOW PIPES)."""
        size = 0
        try:
            pending = list(self.history)
        except RuntimeError:  # popped by the source's thread meanwhile
            pending = []
        for h in pending:
            with contextlib.suppress(OSError):
                size += h.pinned.stat().st_size
        if self.realtime is not None:
            size += self.realtime.remaining_bytes()
        return SourceLag(self.extractor_remaining_events() or 0, size, self._oldest_ms)

    def _has_input(self) -> bool:
        return (
            bool(self.history)
            or self._pending is not None
            or (self.realtime is not None and self.realtime.has_more)
        )

    def _supplied(self, event: Event) -> Event:
        if self._oldest_ms is None:
            self._oldest_ms = time.time_ns() // 1_000_000
        self._last_supplied = event
        if event.progress is not None:
            self._last_progress = (event.progress["r"], time.monotonic())
        return event

    def _progress_heartbeat(self) -> Event | None:
        """A heartbeat carrying the progress, when realtime progress moved without any event
        to carry it (file mode waiting for seals, filtered data) for a while: so that a
        restart does not go back further than needed."""
        assert self.realtime is not None
        covered, at = self._last_progress
        if self.realtime.covered <= covered or time.monotonic() - at < _PROGRESS_EVERY:
            return None
        event = HeartbeatEvent(progress=self._progress())
        self._last_progress = (self.realtime.covered, time.monotonic())
        return event

    # ------------------------------------------------------------------ boundary
    def _boundary_path(self) -> Path:
        return Path(self.configuration.data_dir) / "iotdb-source.json"

    def _identity(self) -> dict[str, Any]:
        return {
            "creation_time": self.configuration.creation_time,
            "parameters": sorted(self.parameters.items()),
        }

    def _save_boundary(self) -> None:
        """Persist the boundary at once (the first commit may come later than a crash)."""
        record = {**self._identity(), "b": self.boundary, "k": self.schema_from}
        atomic_write(self._boundary_path(), json.dumps(record).encode())

    def _saved_record(self) -> dict | None:
        """The boundary record `_save_boundary` wrote for this pipe (None: none, or another
        pipe's)."""
        try:
            record = json.loads(self._boundary_path().read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict):
            return None
        same = all(record.get(k) == v for k, v in _jsonable(self._identity()).items())
        if not same or not isinstance(record.get("b"), int):
            return None  # another pipe of the name, or the source was altered: start afresh
        return record

    def _saved_boundary(self) -> tuple[int, int, int] | None:
        record = self._saved_record()
        if record is None:
            return None
        return record["b"], -1, record["b"]

    # ------------------------------------------------------------------ progress
    def _progress(self) -> dict[str, int]:
        covered = self.realtime.covered if self.realtime is not None else self.boundary
        return {"b": self.boundary, "h": self.history_done_seq, "r": covered, "k": self.schema_from}

    # ------------------------------------------------------------------ history
    def _take_history(self, resumed: bool, covered: int) -> None:
        """Pin the history files still to send (and files only a pin still holds)."""
        name = self.configuration.pipe_name
        live = {str(f.path): f for f in self.store.sealed_files()}
        candidates = [f for f in live.values() if f.min_seq < self.boundary]
        needed: set[str] = set()
        if resumed:
            candidates += self._orphans(live, covered)
        wanted = []
        for f in sorted(candidates, key=lambda f: f.seal_seq):
            orphan = str(f.path) not in live
            if f.seal_seq <= self.history_done_seq and not orphan:
                continue
            if not orphan and not self._history_wants(f):
                continue
            wanted.append(f)
        for f in wanted:
            try:
                pinned = f.path if str(f.path) not in live else self.store.pin(f, name)
            except PinError:
                continue  # its database was dropped meanwhile
            needed.add(str(pinned))
            self.history.append(_HistoryFile(f, pinned))
        if resumed:
            for path in self.store.pinned(name):
                if str(path) not in needed:
                    self.store.unpin(path, name)

    def _history_wants(self, f: SealedFile) -> bool:
        opts = self.options
        if not opts.history_enabled or not opts.include_insert:
            return False
        if f.origin.generated_by_pipe and not opts.forwarding:
            return False
        return takes_file(f, opts.pattern, opts.history_start, opts.history_end)

    def _orphans(self, live: dict[str, SealedFile], covered: int) -> list[SealedFile]:
        """Files this pipe pinned that the store no longer has (their database was dropped)
        and that were not acknowledged: they are sent from the pin."""
        root = self.store.layout.pipe_folder(self.configuration.pipe_name)
        out = []
        for path in self.store.pinned(self.configuration.pipe_name):
            rel = path.relative_to(root)
            if str(self.store.layout.root / rel) in live or len(rel.parts) < 4:
                continue
            try:
                f = load_sealed(path, rel.parts[2], rel.parts[1] == "sequence")
            except (CorruptFileError, OSError, KeyError, ValueError):
                log.warning("pipe: pinned file %s cannot be read; skipped", path)
                continue
            history = f.min_seq < self.boundary and f.seal_seq > self.history_done_seq
            if (history and self._history_wants(f)) or (
                f.min_seq >= self.boundary and f.max_seq >= covered
            ):
                out.append(f)
        return out

    def _history_events(self, h: _HistoryFile) -> Iterator[Event]:
        opts = self.options
        events = self._file_events(
            h.file, h.pinned, opts.history_start, opts.history_end, opts.history_loose
        )
        yield from _with_last(
            events, lambda last: self._history_progress(last, h), lambda: self._unpin(h.pinned)
        )

    def _history_progress(self, last: Event, h: _HistoryFile) -> None:
        self.history_done_seq = max(self.history_done_seq, h.file.seal_seq)
        last.progress = self._progress()
        self._held.append((last, str(h.pinned)))

    # ------------------------------------------------------------------ files
    def _file_events(
        self, f: SealedFile, pinned: Path, start: int, end: int, loose: frozenset[str]
    ) -> Iterator[Event]:
        opts = self.options
        mods = opts.mods_enabled and (not f.mods or _link_mods(f, pinned))
        if needs_split(f, opts.pattern, start, end, loose, mods):
            return split_events(f, pinned, opts.pattern, start, end, loose)
        return iter([file_event(f, pinned, mods)])

    # ------------------------------------------------------------------ realtime
    def _realtime_events(self, item: RealtimeItem) -> Iterator[Event]:
        opts = self.options
        if item.kind == "tablet":
            ev = item.payload
            tablet = filter_tablet(
                ev.tablet, opts.pattern, opts.realtime_start, opts.realtime_end,
                opts.realtime_loose,
            )  # fmt: skip
            if tablet is None:
                return iter(())
            return iter([TabletInsertionEvent(tablet, origin=ev.origin, progress=self._progress())])
        if item.kind == "deletion":
            return self._deletion_events(item.payload)
        if item.kind == "snapshot":
            snapshot = self._schema_snapshot()
            return iter([snapshot] if snapshot is not None else [])
        if item.kind == "schema":
            records = schema_records(item.payload.records, self.schema_options)
            if not records:
                return iter(())
            return iter([SchemaEvent(records=records, origin=item.payload.origin)])
        return self._realtime_file(item.payload)

    def _realtime_file(self, f: SealedFile) -> Iterator[Event]:
        opts = self.options
        if not takes_file(f, opts.pattern, opts.realtime_start, opts.realtime_end):
            return
        if self.backlog is not None and not self.backlog.hand_on(f):
            return  # dropped or replaced by the backlog policy
        try:
            pinned = self.store.pin(f, self.configuration.pipe_name)
        except PinError:
            return  # dropped with its database meanwhile; the deletion follows
        progress = self._progress()

        def done(last: Event) -> None:
            last.progress = progress
            self._held.append((last, str(pinned)))

        events = self._file_events(
            f, pinned, opts.realtime_start, opts.realtime_end, opts.realtime_loose
        )
        yield from _with_last(events, done, lambda: self._unpin(pinned))

    def _deletion_events(self, d: Any) -> Iterator[Event]:
        opts = self.options
        start, end = max(d.start, opts.realtime_start), min(d.end, opts.realtime_end)
        if start > end:
            return iter(())
        if opts.pattern.contains_pattern(d.pattern):
            paths = [d.pattern]
        else:
            paths = [
                s.path
                for s in self.store.list_series(d.pattern)
                if opts.pattern.matches(s.device, s.measurement)
            ]
        events = [DeletionEvent(p, start, end, origin=d.origin) for p in paths]
        if events:
            events[-1].progress = self._progress()
        return iter(events)

    # ------------------------------------------------------------------ backlog
    def _start_backlog(self, covered: int) -> None:
        options = parse_backlog(self.configuration.sink_parameters)
        if options is None or self.realtime is None:
            return
        self.backlog = BacklogGuard(
            self.store,
            self.configuration.pipe_name,
            Path(self.configuration.data_dir),
            options,
            self._owes,
            self._scope_rows,
            covered,
            wakeup=lambda: self.configuration.wakeup(),
        )
        self.backlog.start()

    def _owes(self, f: SealedFile) -> bool:
        """Whether realtime would send sealed file `f` (the backlog guard pins it)."""
        opts = self.options
        return (
            f.min_seq >= self.boundary
            and opts.include_insert
            and (opts.forwarding or not f.origin.generated_by_pipe)
            and takes_file(f, opts.pattern, opts.realtime_start, opts.realtime_end)
        )

    def _scope_rows(self, f: SealedFile) -> Iterator[Any]:
        """The pipe's rows of `f` (deletions applied), as tablets, for down-sampling."""
        opts = self.options
        for event in file_event(f, f.path, False).to_tablet_insertion_events(
            None if opts.pattern.is_root else opts.pattern, opts.realtime_start,
            opts.realtime_end,
        ):  # fmt: skip
            yield event.tablet

    def _replacement_event(self, r: Replacement) -> Event:
        event = SourceTsFileInsertionEvent(
            r.path,
            dict(r.device_times),
            origin=r.origin,
            points=r.points,
            file_name=r.path.name,
            progress=self._progress(),
        )
        self._held_replacements.append((event, r.path))
        return event

    def _backlog_commit(self, commit_id: int, progress: Any, released: list[str]) -> None:
        assert self.backlog is not None
        keep = []
        for event, path in self._held_replacements:
            if event.commit_id is not None and event.commit_id <= commit_id:
                self.backlog.replacement_sent(path)
            else:
                keep.append((event, path))
        self._held_replacements = keep
        covered = progress.get("r") if isinstance(progress, dict) else None
        self.backlog.acknowledged(covered if isinstance(covered, int) else None, released)

    def _unpin(self, pinned: str | Path) -> None:
        try:
            self.store.unpin(pinned, self.configuration.pipe_name)
        except (PipecoreError, OSError) as exc:
            log.warning("pipe %s: unpin %s: %s", self.configuration.pipe_name, pinned, exc)


def _link_mods(f: SealedFile, pinned: Path) -> bool:
    """Make sure the pin has the file's .mods (a deletion may have created it after the file
    was pinned); False when it cannot be had (the file is then split instead)."""
    target = pinned.with_name(pinned.name + ".mods")
    if target.exists():
        return True
    try:
        os.link(f.mods_path, target)
    except FileExistsError:
        return True
    except OSError:
        return False
    return True


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _with_last(events: Iterator[Event], on_last, on_empty) -> Iterator[Event]:
    """`events`, calling ``on_last(event)`` on the last one before it is yielded (to attach
    progress), or ``on_empty()`` when there is none."""
    previous = next(events, None)
    if previous is None:
        on_empty()
        return
    for event in events:
        yield previous
        previous = event
    on_last(previous)
    yield previous


def _resend_from(value: Any) -> int | None:
    """The time of ALTER PIPE … SET PROGRESS (a progress ``{"resend-from": t}``), else None."""
    if isinstance(value, dict) and isinstance(value.get("resend-from"), int):
        return int(value["resend-from"])
    return None


def _schema_from(progress: Any, saved: dict | None) -> int:
    """The pipe's schema-history index (``"k"``) from its committed progress or its saved
    boundary record; 0 (every change the history has) for a pipe older than the history."""
    for source in (progress, saved):
        if isinstance(source, dict) and isinstance(source.get("k"), int):
            return int(source["k"])
    return 0


def _progress(value: Any) -> tuple[int, int, int] | None:
    """(boundary, history done, covered) from a committed progress, None for a new pipe."""
    if not isinstance(value, dict) or _resend_from(value) is not None:
        return None
    try:
        return int(value["b"]), int(value["h"]), int(value["r"])
    except (KeyError, TypeError, ValueError):
        log.warning("iotdb-source: unreadable progress %r; starting afresh", value)
        return None
