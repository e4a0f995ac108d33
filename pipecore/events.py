"""Pipe events: what flows from a source through a processor to a sink (reference §8.1).

* `TabletInsertionEvent` — rows of one device (a columnar `Tablet`).
* `TsFileInsertionEvent` — a sealed TsFile (pinned for the pipe) with its device → time index;
  turns into tablet events filtered by pattern and time range.
* `DeletionEvent` — a deletion of a path pattern over a time range.
* `SchemaEvent` — schema changes (or a snapshot of the schema) as schema-log records; sinks
  that do not know it skip it (the `Connector` default).
* `HeartbeatEvent` — injected by the runtime every
  ``pipe_subtask_executor_cron_heartbeat_event_interval_seconds``; reaches the sink's
  ``connector_heartbeat``.

Every event carries its `origin` (was it written by a pipe receiver, and for which cluster),
its `commit_id` (assigned by the runtime when the source supplies it; increasing per pipe) and an
optional `progress` — a JSON-serialisable value the source attaches, which the runtime persists
once the event and every event before it have been transferred (see docs/hooks.md, "Progress
and commit"). `nbytes` is what the event holds in memory, for the queue bounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np

from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.tablet import Tablet

__all__ = [
    "DeletionEvent",
    "Event",
    "EventCollector",
    "HeartbeatEvent",
    "SchemaEvent",
    "TabletInsertionEvent",
    "TsFileInsertionEvent",
    "matches_pattern",
]

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1

#: What a small event (heartbeat, deletion, a file reference) is charged in the queue bounds.
SMALL_EVENT_BYTES = 256


@attrs.define(eq=False, slots=True)
class Event:
    """Base of all events; also usable as-is for plugin-defined events (IoTDB's
    ``UserDefinedEvent``), which reach ``processor_process_event`` / ``connector_transfer_event``.
    """

    origin: Origin = attrs.field(default=CLIENT, kw_only=True)
    commit_id: int | None = attrs.field(default=None, kw_only=True)
    progress: Any = attrs.field(default=None, kw_only=True)

    @property
    def nbytes(self) -> int:
        return SMALL_EVENT_BYTES


@attrs.define(eq=False, slots=True)
class TabletInsertionEvent(Event):
    """One device's rows. `tablet` is the data; `point_count` its non-null values."""

    tablet: Tablet
    _nbytes: int = attrs.field(default=-1, init=False, repr=False)
    _points: int = attrs.field(default=-1, init=False, repr=False)

    @property
    def nbytes(self) -> int:
        if self._nbytes < 0:
            self._nbytes = self.tablet.nbytes + SMALL_EVENT_BYTES
        return self._nbytes

    @property
    def point_count(self) -> int:
        """Non-null values (computed once: an event's tablet is not changed in place)."""
        if self._points < 0:
            tablet = self.tablet
            masks = tablet.null_masks
            points = len(tablet.timestamps) * len(masks)
            for mask in masks:
                if mask is not None:
                    points -= int(np.count_nonzero(mask))
            self._points = points
        return self._points

    @property
    def device(self) -> str:
        return self.tablet.device

    def derive(self, tablet: Tablet) -> TabletInsertionEvent:
        """A new event for `tablet` with this event's origin (what a processor collects)."""
        return TabletInsertionEvent(tablet, origin=self.origin)


class PathPattern(Protocol):
    """What `TsFileInsertionEvent.to_tablet_insertion_events` accepts besides a prefix string:
    an object deciding per device and per series (iotdb-source's path patterns implement it)."""

    def covers_device(self, device: str) -> bool: ...  # every series of the device matches

    def may_match_device(self, device: str) -> bool: ...  # some series may match

    def matches(self, device: str, measurement: str) -> bool: ...


def matches_pattern(pattern: str | PathPattern | None, device: str, measurement: str) -> bool:
    """IoTDB's legacy prefix pattern: the series path ``device.measurement`` starts with it."""
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return f"{device}.{measurement}".startswith(pattern)
    return pattern.matches(device, measurement)


def _device_scope(pattern: str | PathPattern | None, device: str) -> str:
    """'all' when every series of `device` matches, 'some' when some may, else 'none'."""
    if pattern is None:
        return "all"
    if isinstance(pattern, str):
        if device.startswith(pattern):
            return "all"
        return "some" if pattern.startswith(device + ".") else "none"
    if pattern.covers_device(device):
        return "all"
    return "some" if pattern.may_match_device(device) else "none"


@attrs.define(eq=False, slots=True)
class TsFileInsertionEvent(Event):
    """A sealed TsFile, pinned for the pipe (a hard link the pipe owns).

    * `path` — the file (the pipe's pinned link).
    * `device_time_index` — device → (min time, max time), from the file's ``.resource``.
    * `on_close` — called once by `close()` (the source releases the pin there).
    """

    path: Path = attrs.field(converter=Path)
    device_time_index: Mapping[str, tuple[int, int]] = attrs.field(factory=dict)
    on_close: Callable[[TsFileInsertionEvent], None] | None = attrs.field(default=None, repr=False)
    _closed: bool = attrs.field(default=False, init=False, repr=False)

    def get_tsfile(self) -> Path:
        return self.path

    @property
    def file_size(self) -> int:
        return os.path.getsize(self.path)

    def to_tablet_insertion_events(
        self,
        pattern: str | PathPattern | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Iterator[TabletInsertionEvent]:
        """The file's rows as tablet events, only devices/series matching `pattern` and times
        in ``[start, end]`` (inclusive). Each carries this event's origin and commit id."""
        from pipecore_storage.tsfile import TsFileReader

        lo = MIN_TIME if start is None else start
        hi = MAX_TIME if end is None else end
        reader = TsFileReader(self.path)
        try:
            for device in sorted(self.device_time_index):
                first, last = self.device_time_index[device]
                scope = _device_scope(pattern, device)
                if last < lo or first > hi or scope == "none":
                    continue
                found = reader.read_tablets(device, None, lo, hi)
                for tablet in [found] if isinstance(found, Tablet) else found:
                    if scope == "some":
                        keep = [
                            m for m in tablet.measurements if matches_pattern(pattern, device, m)
                        ]
                        if not keep:
                            continue
                        tablet = tablet.select(keep)
                    if tablet.row_count:
                        yield TabletInsertionEvent(
                            tablet, origin=self.origin, commit_id=self.commit_id
                        )
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Release the file (idempotent): calls `on_close` once."""
        if not self._closed:
            self._closed = True
            if self.on_close is not None:
                self.on_close(self)


@attrs.define(eq=False, slots=True)
class DeletionEvent(Event):
    """Data of `path_pattern` with ``start_time <= time <= end_time`` was deleted."""

    path_pattern: str
    start_time: int = MIN_TIME
    end_time: int = MAX_TIME


@attrs.define(eq=False, slots=True)
class SchemaEvent(Event):
    """Schema changes, in the store's schema-log record form (``{"op": "create_database",
    "name": …}``, ``create_series``, ``delete_series``, ``delete_database``,
    ``series_meta``; see `pipecore_storage.schema`; schema templates' ``create_template``,
    ``set_template``, ``activate_template`` …, see `pipecore.schema_templates`). `snapshot` is
    True for the schema a pipe found when it started (history), False for a change as it
    happened (realtime)."""

    records: tuple[dict, ...] = ()
    snapshot: bool = False


@attrs.define(eq=False, slots=True)
class HeartbeatEvent(Event):
    """Injected by the runtime; the sink subtask calls ``connector_heartbeat()`` and then
    ``connector_transfer_event(event)`` with it. `created_at` is epoch seconds."""

    created_at: float = attrs.field(factory=time.time)


class EventCollector(Protocol):
    """Where a processor puts what it produces (IoTDB's ``EventCollector``)."""

    def collect(self, event: Event) -> None: ...
