"""Realtime extraction: what the store receives while the pipe runs, from a subscription.

The model (sequence numbers are the store's, one per write, seal and deletion):

* ``covered`` (R) — every write with a smaller sequence number has been handed on (as a
  tablet or inside a file). It only grows; it is the realtime part of the pipe's progress,
  and a restarted pipe subscribes with ``replay_from=R``: the store then replays, atomically,
  the sealed files holding writes from R on, the memtable's inserts and deletions from R on,
  and continues live. Nothing is missed; what was handed on after R is handed on again
  (harmless: the receiver's writes are idempotent).
* **Tablet mode** — every insert becomes a tablet (R = its sequence number + 1). A file sealed
  afterwards is not sent: its rows went out as tablets. Files the store *loads* are sent
  (their rows never came as inserts).
* **File mode** — inserts are dropped; every file sealed later that holds writes from R on is
  sent instead. R advances when the store says everything below some sequence number is
  sealed (`Store.sealed_below`) and every seal event published before has been handled.
* ``stream`` stays in tablet mode; ``batch`` is always in file mode; ``hybrid`` starts in
  tablet mode, switches to file mode when the pipe falls behind (for 0.2 s more inserts
  wait here than the pipe's queue holds, and the queue was seen half full; or the store is
  about to drop — or has dropped — events for this subscriber), and back — by
  re-subscribing from R — once the pipe has caught up (its queue at most 1/8 full, after at
  least a second of files) and what it dropped has been sealed and sent as files (at most
  half a queue of dropped inserts left to replay as tablets; IoTDB likewise keeps a TsFile
  epoch on files until that file is sealed).
* **Bounded delay** (hybrid): in file mode, inserts dropped here wait in a memtable for a
  seal. They never wait for an unrelated flush: once the pipe has caught up and an insert
  has waited `SEAL_DELAY` seconds, the source asks the store to seal its memtables now
  (`Store.flush_async`), and the sealed files go out. So realtime data reaches the sink at
  most `SEAL_DELAY` after the sink has taken what was queued before it. ``batch`` waits for
  the store's own seals (FLUSH, memtable thresholds, ``seq_memtable_flush_interval_in_ms``)
  as IoTDB's file mode does.
* What waits is counted (`remaining_events` / `remaining_bytes`, SHOW PIPES'
  RemainingEventCount): events queued in the subscription or held here, and inserts dropped
  in file mode that no file sent yet covers (they are still in a memtable).
* A replay (the start of every subscription) is handed on deletions first, then files, then
  inserts: the files and memtable already hold the state *after* those deletions, so this
  order leaves the receiver exact.
* **Schema** (``schema=True``): the replay also brings the schema changes made after write
  R - 1 (the store's schema history, `pipecore_storage.schema_history`; for a new pipe only
  those from its creation on, ``schema_from``). They go in their place among the deletions,
  before the files and inserts that may need them: so a change made while the pipe was
  stopped is sent when it starts again. When the history was trimmed past what the pipe
  needs, a snapshot of the whole schema goes first instead (item kind "snapshot").
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from pipecore import PipeRuntimeFacts
from pipecore_storage.errors import PipecoreError
from pipecore_storage.listeners import (
    GapEvent,
    InsertEvent,
    StoreDeletion,
    StoreSchemaChange,
    TsFileSealedEvent,
)
from pipecore_storage.resource import SealedFile
from pipecore_storage.stats import memtable_backlog

from .options import SourceOptions

__all__ = ["Realtime", "RealtimeItem"]

#: store events handled per call before giving the worker back
POLL_BUDGET = 256
#: hybrid: least time in file mode before going back to tablets
MIN_FILE_MODE_SECONDS = 1.0
#: hybrid: how long the pipe must lag before tablets give way to files
LAG_SECONDS = 0.2
_MIN_BACKLOG = 16
#: hybrid, file mode: how long a dropped insert may wait in a memtable (once the pipe has
#: caught up) before the source has the store seal it
SEAL_DELAY = 1.0
#: inserts dropped within this many seconds of each other are counted in one entry
_COALESCE_SECONDS = 0.05


#: stands, in a replay, for the schema changes the store's history no longer has
_SNAPSHOT = object()


def _replay_order(event: Any) -> tuple[int, int]:
    """Deletions and replayed schema changes in the order they happened: a change with
    ``seq`` s came after write s (a deletion with sequence number s) and before s + 1."""
    if event is _SNAPSHOT:
        return (-(2**63), 0)
    return (event.seq, 1 if isinstance(event, StoreSchemaChange) else 0)


@attrs.frozen
class RealtimeItem:
    """Something to hand on: ``kind`` is "tablet" (`payload` an `InsertEvent`), "file" (a
    `SealedFile`), "deletion" (a store `StoreDeletion`), "schema" (a `StoreSchemaChange`) or
    "snapshot" (the schema history lacks changes the pipe needs: send the whole schema)."""

    kind: str
    payload: Any


class Realtime:
    """The realtime half of one iotdb-source (used from the source's thread only, except
    the read-only `remaining_events`)."""

    def __init__(
        self,
        store: Any,
        name: str,
        options: SourceOptions,
        covered: int,
        facts: Callable[[], PipeRuntimeFacts],
        clock: Callable[[], float] = time.monotonic,
        wakeup: Callable[[], None] | None = None,
        schema_from: int = 0,
    ) -> None:
        self.store = store
        self.schema_from = schema_from  # the store's schema history index at the pipe's creation
        self.wakeup = wakeup  # the runtime's: supply() runs at once when the store has news
        self.name = name
        self.options = options
        self.kind = options.realtime_mode
        self.covered = covered
        self.facts = facts
        self.clock = clock
        self.file_mode = self.kind == "batch"
        self.file_mode_since = clock()
        self.emitted: dict[str, int] = {}  # path -> max_seq of files handed on
        self.last_deletion = covered - 1
        self.held: deque[Any] = deque()  # the replay, reordered; then one live event
        self.sub: Any = None
        self.sub_start = 0
        self.switches = 0  # tablet -> file mode changes (for tests and SHOW)
        self.resubscriptions = 0
        self._queue_max = _MIN_BACKLOG  # learnt from the pipe's facts
        self._lagging_since: float | None = None
        self._queue_filled = False
        # file mode: inserts dropped and not yet covered, as [last seq, events, bytes, since]
        self._waiting: deque[list[Any]] = deque()
        self._waiting_events = 0
        self._waiting_bytes = 0
        self._seal_asked = float("-inf")
        self.forced_seals = 0  # seals asked of the store (for tests)

    # ------------------------------------------------------------------ subscription
    def open(self) -> None:
        self._subscribe()

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.sub = None
        self.held.clear()

    def _subscribe(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.resubscriptions += 1
        self.sub = self.store.subscribe(
            self.name,
            replay_from=self.covered,
            on_event=self.wakeup,
            schema=self.options.include_schema,
            schema_from=self.schema_from,
        )
        self.sub_start = self.sub.start_seq
        self.held.clear()
        self._clear_waiting()  # the replay from R brings back what still waits
        deletions: list[Any] = []
        files, inserts = [], []
        if getattr(self.sub, "schema_truncated", False):
            deletions.append(_SNAPSHOT)
        while True:
            event = self.sub.get_nowait()
            if event is None:
                break
            if isinstance(event, StoreSchemaChange):
                if event.replayed:
                    deletions.append(event)
                    continue
                inserts.append(event)  # the first live event
                break
            if isinstance(event, GapEvent) or event.seq >= self.sub_start:
                inserts.append(event)  # the first live event: after the replay
                break
            if isinstance(event, StoreDeletion):
                deletions.append(event)
            elif isinstance(event, TsFileSealedEvent):
                files.append(event)
            elif not self.file_mode:
                inserts.append(event)
            else:
                self._wait(event)
        deletions.sort(key=_replay_order)  # schema changes in their place among deletions
        self.held.extend(deletions)
        self.held.extend(files)
        self.held.extend(inserts)

    # ------------------------------------------------------------------ polling
    def poll(self) -> RealtimeItem | None:
        """The next thing to hand on, or None when there is nothing now."""
        for _ in range(POLL_BUDGET):
            event = self.held.popleft() if self.held else self.sub.get_nowait()
            if event is None:
                self._idle()
                return None
            item = self._handle(event)
            if item is not None:
                return item
        return None

    @property
    def has_more(self) -> bool:
        return bool(self.held) or (self.sub is not None and len(self.sub) > 0)

    def remaining_events(self) -> int:
        sub = self.sub
        if sub is None:
            return len(self.held)
        # a gap counts the events it dropped (they are replayed or sent as files), and in
        # file mode the inserts dropped until a sealed file covers them are still to go
        pending = getattr(sub, "pending_events", None)
        queued = pending if pending is not None else len(sub) + (1 if sub.lagging else 0)
        count = len(self.held) + queued + self._waiting_events
        if self.file_mode or queued > len(sub):
            # behind: everything the store wrote after what was handed on is still to go
            # (in file mode inserts leave as sealed files, not as queued events)
            last = getattr(self.store, "last_seq", None)
            if isinstance(last, int):
                count = max(count, last + 1 - self.covered)
        return count

    def backlog(self) -> tuple[int, int]:
        """(points, bytes) still to hand on: inserts (tablet mode) and sealed files queued
        here, and in file mode the memtables' data from ``covered`` on, which comes later as
        files. Any thread (reads copies)."""
        sub = self.sub
        try:
            queued = list(self.held)
        except RuntimeError:  # changed by the source's thread meanwhile
            queued = []
        if sub is not None:
            queued += sub.pending()
        points = size = 0
        for event in queued:
            if isinstance(event, InsertEvent):
                if not self.file_mode:
                    points += event.tablet.point_count()
                    size += event.tablet.nbytes
            elif isinstance(event, TsFileSealedEvent):
                points += event.file.points
                with contextlib.suppress(OSError):
                    size += os.path.getsize(event.file.path)
        if self.file_mode:
            more_points, more_bytes = memtable_backlog(self.store, self.covered)
            points += more_points
            size += more_bytes
        return points, size

    def remaining_bytes(self) -> int:
        sub = self.sub
        return (0 if sub is None else sub.nbytes) + self._waiting_bytes

    def _handle(self, event: Any) -> RealtimeItem | None:
        if isinstance(event, InsertEvent):
            return self._insert(event)
        if isinstance(event, TsFileSealedEvent):
            return self._sealed(event)
        if isinstance(event, StoreDeletion):
            return self._deletion(event)
        if event is _SNAPSHOT:
            return RealtimeItem("snapshot", None) if self.options.include_schema else None
        if isinstance(event, StoreSchemaChange):  # takes no sequence number of its own
            if not self.options.include_schema:
                return None
            if event.origin.generated_by_pipe and not self.options.forwarding:
                return None
            return RealtimeItem("schema", event)
        if isinstance(event, GapEvent):
            if self.kind == "hybrid":
                self._enter_file_mode()
            self._subscribe()
        return None

    def _insert(self, event: InsertEvent) -> RealtimeItem | None:
        if not self.file_mode and self.kind == "hybrid" and self._behind():
            self._enter_file_mode()
        if self.file_mode:
            self._wait(event)
            return None
        self.covered = max(self.covered, event.seq + 1)
        if not self.options.include_insert:
            return None
        if event.origin.generated_by_pipe and not self.options.forwarding:
            return None
        return RealtimeItem("tablet", event)

    def _sealed(self, event: TsFileSealedEvent) -> RealtimeItem | None:
        f: SealedFile = event.file
        replayed = event.seq < self.sub_start
        if not (replayed or self.file_mode or f.loaded):
            self.covered = max(self.covered, event.seq + 1)  # its rows went out as tablets
            return None
        wanted = f.max_seq >= self.covered and str(f.path) not in self.emitted
        if not replayed and not self.file_mode:
            self.covered = max(self.covered, event.seq + 1)
        if not wanted or not self.options.include_insert:
            return None
        if f.origin.generated_by_pipe and not self.options.forwarding:
            return None
        if len(self.emitted) >= 256:  # files below R are never replayed again
            self.emitted = {p: m for p, m in self.emitted.items() if m >= self.covered}
        self.emitted[str(f.path)] = f.max_seq
        return RealtimeItem("file", f)

    def _deletion(self, event: StoreDeletion) -> RealtimeItem | None:
        if not self.file_mode and event.seq >= self.sub_start:
            self.covered = max(self.covered, event.seq + 1)
        if event.seq <= self.last_deletion or not self.options.include_delete:
            return None
        self.last_deletion = event.seq
        if event.origin.generated_by_pipe and not self.options.forwarding:
            return None
        return RealtimeItem("deletion", event)

    # ------------------------------------------------------------------ waiting inserts
    def _wait(self, event: InsertEvent) -> None:
        """An insert dropped in file mode: it waits in a memtable for a seal."""
        now = self.clock()
        last = self._waiting[-1] if self._waiting else None
        if last is not None and now - last[3] <= _COALESCE_SECONDS:
            last[0] = max(last[0], event.seq)
            last[1] += 1
            last[2] += event.nbytes
        else:
            self._waiting.append([event.seq, 1, event.nbytes, now])
        self._waiting_events += 1
        self._waiting_bytes += event.nbytes

    def _covered_waiting(self) -> None:
        """Forget the waiting inserts below R (a file sent covers them)."""
        while self._waiting and self._waiting[0][0] < self.covered:
            _, events, nbytes, _ = self._waiting.popleft()
            self._waiting_events -= events
            self._waiting_bytes -= nbytes

    def _clear_waiting(self) -> None:
        self._waiting.clear()
        self._waiting_events = self._waiting_bytes = 0

    def _seal_if_waiting(self) -> None:
        """Hybrid, file mode, the pipe caught up: inserts that waited `SEAL_DELAY` in a
        memtable are sealed now instead of waiting for an unrelated flush."""
        if not self._waiting:
            return
        now = self.clock()
        if now - self._waiting[0][3] < SEAL_DELAY or now - self._seal_asked < SEAL_DELAY:
            return
        if not self._caught_up():
            return
        self._seal_asked = now
        try:
            if self.store.flush_async():
                self.forced_seals += 1
        except PipecoreError:
            return  # the store is closing: the pipe stops with it

    # ------------------------------------------------------------------ modes
    def _enter_file_mode(self) -> None:
        if not self.file_mode:
            self.file_mode = True
            self.file_mode_since = self.clock()
            self.switches += 1

    def _behind(self) -> bool:
        """The pipe falls behind: more inserts wait here than its queue holds, for at least
        `LAG_SECONDS`, while its queue was seen at least half full (or the store is about
        to drop events for this subscription)."""
        if len(self.sub) * 2 >= self.sub.capacity_events:
            return True
        if len(self.sub) + len(self.held) < self._queue_max:
            self._lagging_since = None
            return False
        now = self.clock()
        if self._lagging_since is None:
            self._lagging_since, self._queue_filled = now, False
        if not self._queue_filled:
            facts = self.facts()
            self._queue_max = max(facts.queue_max_events, _MIN_BACKLOG)
            self._queue_filled = (
                facts.back_pressured
                or facts.queued_events * 2 >= facts.queue_max_events
                or facts.queued_bytes * 2 >= facts.queue_max_bytes
            )
        return self._queue_filled and now - self._lagging_since >= LAG_SECONDS

    def _caught_up(self) -> bool:
        facts = self.facts()
        return (
            not facts.back_pressured
            and facts.queued_events * 8 <= facts.queue_max_events
            and facts.queued_bytes * 8 <= facts.queue_max_bytes
        )

    def _idle(self) -> None:
        """Nothing queued: advance R in file mode; a hybrid pipe that caught up goes back to
        tablets."""
        if not self.file_mode:
            return
        below = self.store.sealed_below()  # first, then check nothing is left unhandled
        settled = not self.held and len(self.sub) == 0 and not self.sub.lagging
        if settled and below > self.covered:
            self.covered = below
            self.emitted = {p: m for p, m in self.emitted.items() if m >= below}
            self._covered_waiting()
        if self.kind != "hybrid":
            return
        if (
            self._waiting_events <= self._queue_max // 2
            and self.clock() - self.file_mode_since >= MIN_FILE_MODE_SECONDS
            and self._caught_up()
        ):
            self.file_mode = False
            self._clear_waiting()  # replayed from R as tablets
            self._subscribe()
        elif settled:
            self._seal_if_waiting()
