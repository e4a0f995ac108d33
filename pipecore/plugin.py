"""Base classes of pipe plugins and what the runtime hands them.

A plugin is a class with a no-argument constructor; each running stage of each pipe gets its own
instance. Its methods named after the stage hooks (docs/hooks.md) are the hook
implementations — pluggy checks their names and arguments when the stage is built, so a
misspelled ``connector_transfer_tabelt`` is an error naming the plugin and the hook.

* `Extractor` (a source): ``extractor_validate / customize / start / supply / commit /
  remaining_events / backlog / close``.
* `Processor`: ``processor_validate / customize / process_tablet / process_tsfile /
  process_event / close``.
* `Connector` (a sink): ``connector_validate / customize / handshake / heartbeat /
  transfer_tablet / transfer_tsfile / transfer_event / close``.

The defaults mirror IoTDB's: a processor passes events on; a processor or sink that does not
override the TsFile hook gets the file as tablet events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .events import Event, EventCollector, TabletInsertionEvent, TsFileInsertionEvent
from .host import NodeShared
from .outage import Outage, OutageReport
from .parameters import PipeParameters, PipeParameterValidator

if TYPE_CHECKING:
    from .config import Config
    from .digest import DigestRequest, PipeScope, WindowDigests

__all__ = [
    "Connector",
    "Extractor",
    "PipeRuntimeFacts",
    "Processor",
    "RuntimeConfiguration",
    "StageContext",
    "all_done",
]


def _noop() -> None:
    return None


@attrs.frozen
class StageContext:
    """Which stage a hook call belongs to — what a global wrapper needs to attribute it."""

    pipe_name: str
    kind: str  # "source" | "processor" | "sink"
    plugin_name: str  # upper-case, as SHOW PIPEPLUGINS shows it
    creation_time: int  # the pipe's, epoch milliseconds


@attrs.frozen
class PipeRuntimeFacts:
    """A snapshot of a running pipe, for SHOW PIPES and for sources that adapt to backlog.

    * `queued_events` / `queued_bytes` — in the queue between processor and sink;
      `queue_max_events` / `queue_max_bytes` its bounds; `back_pressured` — the source is held
      back because the queue is full (a hybrid source switches to files on this).
    * `in_flight_events` — supplied by the source and not yet committed.
    * `supplied_events`, `transferred_events`, `committed_commit_id`.
    * `source_remaining_events` — what ``extractor_remaining_events`` said (None if unknown).
    * `events_per_second` — commit rate over the last seconds (0.0 when idle or new).
    * `remaining` — the `pipecore.observability.PipeRemaining` these figures were taken from
      (the same numbers the node's metrics export), or None.
    """

    queued_events: int = 0
    queued_bytes: int = 0
    queue_max_events: int = 0
    queue_max_bytes: int = 0
    back_pressured: bool = False
    in_flight_events: int = 0
    supplied_events: int = 0
    transferred_events: int = 0
    committed_commit_id: int = 0
    source_remaining_events: int | None = None
    events_per_second: float = 0.0
    remaining: Any = None
    outage: Outage | None = None  # the sink is retrying (pipecore.outage)

    @property
    def remaining_event_count(self) -> int:
        """Events not yet committed: in flight plus what the source still holds."""
        if self.remaining is not None:
            return int(self.remaining.events)
        return self.in_flight_events + (self.source_remaining_events or 0)

    @property
    def estimated_remaining_seconds(self) -> float | None:
        """Remaining events at the recent commit rate; None when that cannot be estimated."""
        if self.remaining is not None:
            seconds: float | None = self.remaining.seconds
            return seconds
        remaining = self.remaining_event_count
        if remaining == 0:
            return 0.0
        if self.events_per_second <= 0.0:
            return None
        return remaining / self.events_per_second


@attrs.define(eq=False)
class RuntimeConfiguration:
    """What ``*_customize(parameters, configuration)`` receives (IoTDB's
    ``Pipe…RuntimeConfiguration`` with its ``PipeRuntimeEnvironment``).

    * `pipe_name`, `creation_time` (epoch ms).
    * `data_dir` — this pipe's own directory on this node (created; removed on DROP PIPE).
    * `cluster_id` — the node's persistent UUID (sent in handshakes, compared by receivers).
    * `store` — the node's embedded store, or None when the node has none.
    * `shared` — objects the plugins of this node share (`pipecore.host.NodeShared`; e.g. the
      sinks' node-wide rate limiter): one per node, never per process.
    * `node_config` — the node's `Config`.
    * `progress` / `commit_id` — the last durable progress and commit id of this pipe (None / 0
      for a new pipe); a source resumes from them.
    * `wakeup()` — a source with new data calls it to have ``extractor_supply`` called soon
      (otherwise the runtime polls with a back-off).
    * `facts()` — the pipe's current `PipeRuntimeFacts`.
    * `counters` — the pipe's `pipecore.observability.PipeCounters` (None outside a running
      pipe): a sink that retries by itself reports ``counters.connection_lost(exc)`` /
      ``connection_ok()`` and ``counters.error(None, code)`` there, for the node's metrics
      and ``/ready``.
    * `sink_parameters` — the pipe's sink section (a source reads ``sink.backlog.*`` there).
    * `outage` — a sink that retries reports each attempt there (`pipecore.outage`).
    * `finished()` — a source that has supplied all it ever will, and seen it all committed,
      calls it once: the pipe is then dropped (IoTDB's auto-drop of a snapshot pipe).
    """

    pipe_name: str
    creation_time: int
    data_dir: Path
    cluster_id: str
    node_config: Config | None = None
    store: Any = None
    shared: NodeShared = attrs.field(factory=NodeShared)
    progress: Any = None
    commit_id: int = 0
    wakeup: Callable[[], None] = _noop
    facts: Callable[[], PipeRuntimeFacts] = PipeRuntimeFacts
    counters: Any = None
    sink_parameters: PipeParameters | None = None  # the pipe's sink section
    outage: OutageReport = attrs.field(factory=OutageReport)
    finished: Callable[[], None] = _noop

    @property
    def runtime_environment(self) -> RuntimeConfiguration:
        """IoTDB's ``getRuntimeEnvironment()``: the same object (pipe name, creation time)."""
        return self


class Extractor:
    """Base class of source (extractor) plugins. Override ``extractor_supply`` at least."""

    parameters: PipeParameters
    configuration: RuntimeConfiguration

    def extractor_validate(self, validator: PipeParameterValidator) -> None:
        return None

    def extractor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        self.parameters = parameters
        self.configuration = configuration

    def extractor_start(self) -> None:
        return None

    def extractor_supply(self) -> Event | None:
        return None

    def extractor_commit(self, commit_id: int, progress: Any) -> None:
        return None

    def extractor_remaining_events(self) -> int | None:
        return None

    def extractor_backlog(self) -> Any:
        return None

    def extractor_close(self) -> None:
        return None

    def extractor_scope(self) -> PipeScope | None:
        return None


class Processor:
    """Base class of processor plugins: passes every event on unchanged, except TsFile events,
    which it turns into tablet events (`DoNothingProcessor` passes files on whole)."""

    parameters: PipeParameters
    configuration: RuntimeConfiguration

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        return None

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        self.parameters = parameters
        self.configuration = configuration

    def processor_process_tablet(
        self, event: TabletInsertionEvent, collector: EventCollector
    ) -> None:
        collector.collect(event)

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        try:
            for tablet_event in event.to_tablet_insertion_events():
                self.processor_process_tablet(tablet_event, collector)
        finally:
            event.close()

    def processor_process_event(self, event: Event, collector: EventCollector) -> None:
        collector.collect(event)

    def processor_close(self) -> None:
        return None


class Connector:
    """Base class of sink (connector) plugins. Override ``connector_transfer_tablet`` at least;
    TsFile events arrive as tablet events unless ``connector_transfer_tsfile`` is overridden."""

    parameters: PipeParameters
    configuration: RuntimeConfiguration

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        return None

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        self.parameters = parameters
        self.configuration = configuration

    def connector_handshake(self) -> None:
        return None

    def connector_heartbeat(self) -> None:
        return None

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[Any] | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement transfer of tablets")

    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> Future[None] | None:
        pending: list[Future[Any]] = []
        for tablet_event in event.to_tablet_insertion_events():
            outcome = self.connector_transfer_tablet(tablet_event)
            if outcome is not None:
                pending.append(outcome)
        return all_done(pending) if pending else None

    def connector_transfer_event(self, event: Event) -> Future[Any] | None:
        return None

    def connector_flush(self) -> None:
        return None

    def connector_digests(self, request: DigestRequest) -> dict[str, WindowDigests] | None:
        return None

    def connector_close(self) -> None:
        return None


def all_done(futures: Sequence[Future[Any]]) -> Future[None]:
    """A future that completes when all `futures` have: with the first failure among them, or
    with None. What a sink returns when one event became several requests."""
    combined: Future[None] = Future()
    if not futures:
        combined.set_result(None)
        return combined
    lock = threading.Lock()
    left = [len(futures)]

    def one_done(future: Future[Any]) -> None:
        error = CancelledError() if future.cancelled() else future.exception()
        with lock:
            left[0] -= 1
            if combined.done():
                return
            if error is not None:
                combined.set_exception(error)
            elif left[0] == 0:
                combined.set_result(None)

    for future in futures:
        future.add_done_callback(one_done)
    return combined
