"""Store listeners: what a pipe's source subscribes to.

A `Subscription` receives, in sequence-number order, an event for every applied insert
(`InsertEvent`: the tablet and its origin), every sealed or loaded TsFile
(`TsFileSealedEvent`), every deletion (`StoreDeletion`) and every schema change
(`StoreSchemaChange`: the schema-log records, published before the write that needed them;
only to a subscription made with ``schema=True``).
Publishing never blocks a writer:
each subscription has a bounded queue (events and bytes); when it is full, new events are
dropped and the subscription remembers the range of sequence numbers it lost. The consumer
then receives a `GapEvent(first_seq, last_seq)` before the next event it does get (or as soon
as it asks, when nothing else is queued), and can read the lost data from the sealed files
that cover that range (`Store.files_covering`) and the memtable (`Store.replay`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Union

import attrs

from .origin import Origin
from .resource import SealedFile
from .tablet import Tablet

__all__ = [
    "Event",
    "GapEvent",
    "InsertEvent",
    "StoreDeletion",
    "StoreSchemaChange",
    "Subscription",
    "TsFileSealedEvent",
    "replay_events",
]


@attrs.frozen
class InsertEvent:
    """An applied insert: `tablet` (one device's rows, as written), its origin and database."""

    seq: int
    tablet: Tablet
    origin: Origin
    database: str

    @property
    def nbytes(self) -> int:
        return self.tablet.nbytes


@attrs.frozen
class TsFileSealedEvent:
    """A TsFile was sealed from a memtable (covering writes `min_seq`..`max_seq`) or loaded."""

    seq: int
    file: SealedFile

    @property
    def origin(self) -> Origin:
        return self.file.origin

    @property
    def min_seq(self) -> int:
        return self.file.min_seq

    @property
    def max_seq(self) -> int:
        return self.file.max_seq

    @property
    def nbytes(self) -> int:
        return 512


@attrs.frozen
class StoreDeletion:
    """Points of series matching `pattern` with start <= time <= end were deleted."""

    seq: int
    pattern: str
    start: int
    end: int
    origin: Origin

    @property
    def nbytes(self) -> int:
        return 128


@attrs.frozen
class StoreSchemaChange:
    """The schema changed: `records` are the schema log's records of the change (the
    `SchemaRegistry.apply` form: ``create_database``, ``delete_database``, ``create_series``,
    ``delete_series``, ``series_meta``), or records of schema kept outside the store
    (`Store.publish_schema`: schema templates). `seq` is the store's last sequence number when it
    happened (a schema change takes none of its own); `index` its number in the store's schema
    history (`schema_history`); `replayed`: from the history, for a subscription made with
    ``replay_from``. Never dropped by a full queue: the data sent after it may need it."""

    seq: int
    records: tuple[dict, ...]
    origin: Origin
    index: int = -1
    replayed: bool = False

    @property
    def nbytes(self) -> int:
        return 0


@attrs.frozen
class GapEvent:
    """Events with sequence numbers `first_seq`..`last_seq` were dropped: the queue was full."""

    first_seq: int
    last_seq: int
    events: int = 1  # how many events were dropped

    @property
    def seq(self) -> int:
        return self.last_seq

    @property
    def nbytes(self) -> int:
        return 0


Event = Union[InsertEvent, TsFileSealedEvent, StoreDeletion, StoreSchemaChange, GapEvent]  # noqa: UP007


class Subscription:
    """A subscriber's bounded queue of store events. Thread-safe; iterate or call `get`."""

    def __init__(
        self,
        name: str,
        capacity_events: int,
        capacity_bytes: int,
        start_seq: int,
        on_close=None,
        on_event: Callable[[], None] | None = None,
        schema: bool = False,
    ) -> None:
        self.name = name
        self.schema = schema  # receives StoreSchemaChange events too
        self.on_event = on_event  # called (writer's thread, no lock held) after each offer
        self.capacity_events = capacity_events
        self.capacity_bytes = capacity_bytes
        self.start_seq = start_seq
        self._queue: deque[tuple[Event, int]] = deque()
        self._bytes = 0
        self._gap: list[int] | None = None
        self._cv = threading.Condition()
        self._closed = False
        self._on_close = on_close
        self.dropped_events = 0
        self._gap_events = 0  # events dropped in the gap not yet reported
        self.schema_truncated = False  # the replay lacks schema changes trimmed from history

    # ------------------------------------------------------------------ producer side
    def offer(self, event: Event) -> None:
        """Queue `event` or, when full, record it as lost. Never blocks on the consumer."""
        size = event.nbytes
        if isinstance(event, StoreSchemaChange) and not self.schema:
            return
        with self._cv:
            if self._closed:
                return
            if self._gap is not None and self._has_room(0):
                self._queue.append((GapEvent(self._gap[0], self._gap[1], self._gap_events), 0))
                self._gap = None
                self._gap_events = 0
            if isinstance(event, StoreSchemaChange):  # never lost (it holds no data)
                self._queue.append((event, 0))
            elif self._gap is None and self._has_room(size):
                self._queue.append((event, size))
                self._bytes += size
            else:
                self.dropped_events += 1
                self._gap_events += 1
                if self._gap is None:
                    self._gap = [event.seq, event.seq]
                else:
                    self._gap[1] = event.seq
            self._cv.notify()
        if self.on_event is not None:
            self.on_event()

    def prefill(self, events: list[Event]) -> None:
        """Queue replayed events regardless of capacity (they reference existing data)."""
        with self._cv:
            for event in events:
                self._queue.append((event, 0))
            self._cv.notify()

    def _has_room(self, size: int) -> bool:
        if len(self._queue) >= self.capacity_events:
            return False
        return not self._queue or self._bytes + size <= self.capacity_bytes

    # ------------------------------------------------------------------ consumer side
    @property
    def lagging(self) -> bool:
        """True while events are being dropped (a gap has not yet been reported)."""
        with self._cv:
            return self._gap is not None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def nbytes(self) -> int:
        """Bytes of the live events queued now (replayed events count 0: they reference data
        the store holds anyway)."""
        with self._cv:
            return self._bytes

    def __len__(self) -> int:
        with self._cv:
            return len(self._queue)

    def pending(self) -> list[Event]:
        """The queued events now, oldest first (a copy; for measuring a backlog)."""
        with self._cv:
            return [event for event, _ in self._queue]

    @property
    def pending_events(self) -> int:
        """Events the subscriber has still to see: those queued (a queued gap counts the
        events it stands for) and those dropped in a gap not yet queued."""
        with self._cv:
            queued = sum(e.events if isinstance(e, GapEvent) else 1 for e, _ in self._queue)
            return queued + self._gap_events

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; None after `timeout` seconds without one, or once closed."""
        with self._cv:
            while True:
                if self._queue:
                    event, size = self._queue.popleft()
                    self._bytes -= size
                    return event
                if self._gap is not None:
                    gap = GapEvent(self._gap[0], self._gap[1], self._gap_events)
                    self._gap = None
                    self._gap_events = 0
                    return gap
                if self._closed:
                    return None
                if not self._cv.wait(timeout) and timeout is not None:
                    return None

    def get_nowait(self) -> Event | None:
        return self.get(timeout=0)

    def drain(self, max_events: int | None = None) -> list[Event]:
        """Every queued event (at most `max_events`), without waiting."""
        out: list[Event] = []
        while max_events is None or len(out) < max_events:
            event = self.get_nowait()
            if event is None:
                break
            out.append(event)
        return out

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.get()
            if event is None:
                return
            yield event

    def close(self) -> None:
        """Stop receiving events; a consumer blocked in `get` returns None."""
        with self._cv:
            if self._closed:
                return
            self._closed = True
            self._cv.notify_all()
        if self._on_close is not None:
            self._on_close(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_events(files, memtables, deletions, from_seq: int) -> list[Event]:
    """What the store still holds from `from_seq` on: a `TsFileSealedEvent` per sealed file
    covering it (by seal order), then, in sequence order, memtable inserts and deletions.

    An insert whose rows were split between sequence and unsequence memtables comes back as
    two `InsertEvent`s with the same sequence number.
    """
    events: list[Event] = [
        TsFileSealedEvent(f.seal_seq, f)
        for f in sorted(files, key=lambda f: f.seal_seq)
        if f.max_seq >= from_seq or f.seal_seq >= from_seq
    ]
    tail: list[Event] = [d for d in deletions if d.seq >= from_seq]
    for mt in memtables:
        for data, chunk in mt.iter_chunks():
            last = chunk.seq if chunk.seqs is None else int(chunk.seqs[-1])
            if last < from_seq:
                continue
            for seq, tablet in chunk.writes(data.device, data.schemas, data.aligned):
                if seq >= from_seq:
                    tail.append(InsertEvent(seq, tablet, chunk.origin, mt.database))
    tail.sort(key=lambda e: e.seq)
    return events + tail


class Publisher:
    """The store's list of subscriptions; `publish` is called under the store's write lock."""

    def __init__(self) -> None:
        self._subs: dict[int, Subscription] = {}
        self._lock = threading.Lock()

    def add(self, sub: Subscription) -> None:
        with self._lock:
            self._subs[id(sub)] = sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.pop(id(sub), None)

    @property
    def active(self) -> bool:
        return bool(self._subs)

    def publish(self, event: Event) -> None:
        if not self._subs:
            return
        with self._lock:
            subs = list(self._subs.values())
        for sub in subs:
            sub.offer(event)

    def close_all(self) -> None:
        with self._lock:
            subs = list(self._subs.values())
            self._subs.clear()
        for sub in subs:
            sub.close()
