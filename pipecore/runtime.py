"""The runtime of one pipe: its stages, queue, committer and subtasks.

    source ──supply──▶ [processor subtask] ──collect──▶ queue ──▶ [sink subtask] ──transfer──▶
                             ▲                      (bounded: events + bytes)        │
                             └──────────── commit (in order, after transfer) ◀───────┘

* The **processor subtask** pulls events from the source (``extractor_supply``), gives each a
  commit id, passes it to the processor, which collects its outputs into the queue. It runs
  only while the queue is below both bounds (``pipe_sink_pending_queue_max_events`` /
  ``_max_bytes``), so a slow sink stops the supply instead of growing memory (the outputs of
  one input may overshoot the bound once).
* The **sink subtask** takes events from the queue and transfers them. When the sink returns,
  the event's outputs are done; the `Committer` advances the pipe's committed commit id over
  every input whose outputs are all done, in order.
* Every ``pipe_heartbeat_interval_seconds_for_collecting_pipe_meta`` the committed progress is
  persisted in the pipe's meta and then ``extractor_commit(commit_id, progress)`` tells the
  source (on its own thread).
* A sink transfer hook may return a `concurrent.futures.Future` instead of None: the event is
  done when the future completes (commits still advance in order). At most the queue's
  bounds of such events are pending at once. When the sink subtask then stops taking events —
  the queue is empty, or that many are pending — it calls ``connector_flush()`` once: a
  batching sink sends what it holds instead of waiting out its batch delay for events that
  cannot come (with one-row events, a full pending bound used to wait for the delay each time).
* Errors: a `PipeConnectionError` (any `ConnectionError`) from the sink — from a transfer, a
  future, or the handshake when the pipe starts — is retried after a back-off, with a
  handshake first; any other exception of a plugin stops only this pipe
  (reported to the pipe manager as a `PipeRuntimeError`). A transfer running longer than
  ``pipe_sink_timeout_ms`` is given up: the pipe stops and its worker is replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Config
from .errors import PipeError, PipeRuntimeError, PipeSinkTimeoutError
from .events import Event, HeartbeatEvent, TabletInsertionEvent, TsFileInsertionEvent
from .observability import PipeCounters, PipeRemaining, SourceBacklog, remaining_figures
from .parameters import PipeParameters, PipeParameterValidator
from .plugin import PipeRuntimeFacts, RuntimeConfiguration, StageContext
from .quarantine import MAX_TRIES_KEYS, QUARANTINED, RETRY, Quarantine, quarantine_root
from .registry import PluginRegistry
from .stage import Stage
from .workers import SubtaskExecutor, TimerHandle

__all__ = ["Committer", "EventQueue", "PipeTask", "build_stage"]

log = logging.getLogger(__name__)

_SLICE_SECONDS = 0.005  # a subtask yields its worker after this long (checked every 32 events)
_MIN_BACKOFF, _MAX_BACKOFF = 0.001, 0.1  # polling an empty source
_MAX_RETRY_BACKOFF = 20.0
_LOCAL_RETRIES_WITHOUT_RETRY_LOCALLY = 5


class EventQueue:
    """A FIFO bounded in events and in bytes. `put` never blocks (the producer checks `full`
    before producing); both bounds count what is queued now."""

    __slots__ = ("_deque", "_lock", "max_bytes", "max_events", "nbytes")

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._deque: deque[Event] = deque()
        self._lock = threading.Lock()
        self.nbytes = 0

    def put(self, event: Event) -> int:
        """Append; returns the length before (0 = the consumer may be parked)."""
        size = event.nbytes
        with self._lock:
            before = len(self._deque)
            self._deque.append(event)
            self.nbytes += size
        return before

    def poll(self) -> Event | None:
        with self._lock:
            if not self._deque:
                return None
            event = self._deque.popleft()
            self.nbytes -= event.nbytes
        return event

    def full(self) -> bool:
        return len(self._deque) >= self.max_events or self.nbytes >= self.max_bytes

    def snapshot(self) -> list[Event]:
        """The queued events now (a copy), for the pipe's metrics."""
        with self._lock:
            return list(self._deque)

    def __len__(self) -> int:
        return len(self._deque)

    def drain(self) -> list[Event]:
        with self._lock:
            events = list(self._deque)
            self._deque.clear()
            self.nbytes = 0
        return events


class Committer:
    """Commit ids of one pipe, advanced in order.

    ``begin(progress)`` opens an input (returns its commit id); ``add_output(cid)`` counts an
    event collected for it; ``input_done(cid)`` says the processor is finished with it;
    ``output_done(cid)`` that the sink transferred one of its outputs. An input is done when
    it is finished and all its outputs are transferred; `committed_id` is the highest id whose
    every predecessor is done, `committed_progress` the newest non-None progress among them.
    """

    __slots__ = (
        "_lock",
        "_records",
        "committed_count",
        "committed_id",
        "committed_progress",
        "next_id",
    )

    def __init__(self, committed_id: int = 0, committed_progress: Any = None) -> None:
        self._lock = threading.Lock()
        # [cid, outstanding, finished, progress, monotonic time begun]
        self._records: deque[list[Any]] = deque()
        self.committed_id = committed_id
        self.committed_progress = committed_progress
        self.committed_count = 0
        self.next_id = committed_id + 1

    def begin(self, progress: Any, now: float | None = None) -> int:
        """Open an input begun at `now` (monotonic; default: now)."""
        if now is None:
            now = time.monotonic()
        with self._lock:
            cid = self.next_id
            self.next_id = cid + 1
            self._records.append([cid, 0, False, progress, now])
        return cid

    def _record(self, cid: int) -> list[Any] | None:
        records = self._records
        if not records:
            return None
        index = cid - records[0][0]
        if 0 <= index < len(records):
            return records[index]
        return None

    def add_output(self, cid: int) -> None:
        with self._lock:
            record = self._record(cid)
            if record is not None:
                record[1] += 1

    def input_done(self, cid: int) -> None:
        with self._lock:
            record = self._record(cid)
            if record is not None:
                record[2] = True
                if record[1] == 0:
                    self._advance()

    def output_done(self, cid: int | None) -> None:
        if cid is None:
            return
        with self._lock:
            record = self._record(cid)
            if record is not None:
                record[1] -= 1
                if record[1] <= 0 and record[2]:
                    self._advance()

    def _advance(self) -> None:
        records = self._records
        while records and records[0][2] and records[0][1] <= 0:
            cid, _, _, progress, _ = records.popleft()
            self.committed_id = cid
            self.committed_count += 1
            if progress is not None:
                self.committed_progress = progress

    @property
    def in_flight(self) -> int:
        return len(self._records)

    @property
    def oldest_begin(self) -> float | None:
        """When (monotonic) the oldest input not yet committed was begun; None if none."""
        try:
            return float(self._records[0][4])
        except IndexError:
            return None


class _Collector:
    """The processor's `EventCollector`: tags outputs with the input's commit id and queues
    them, waking the sink subtask when the queue was empty."""

    __slots__ = ("_committer", "_queue", "_wake_sink", "current")

    def __init__(self, queue: EventQueue, committer: Committer, wake_sink: Callable[[], None]):
        self._queue = queue
        self._committer = committer
        self._wake_sink = wake_sink
        self.current = 0

    def collect(self, event: Event) -> None:
        cid = self.current
        event.commit_id = cid
        self._committer.add_output(cid)
        if self._queue.put(event) == 0:
            self._wake_sink()


def build_stage(
    registry: PluginRegistry, kind: str, plugin_name: str, pipe_name: str, creation_time: int
) -> Stage:
    """Instantiate plugin `plugin_name` as the `kind` stage of a pipe, hooks checked."""
    entry, instance = registry.instantiate(plugin_name, kind)
    context = StageContext(pipe_name, kind, entry.name, creation_time)
    return Stage(kind, entry.name, instance, context, registry.global_stage_plugins())


def plugin_names(
    source: PipeParameters, processor: PipeParameters, sink: PipeParameters
) -> dict[str, str]:
    """The plugin of each section, with IoTDB's defaults (iotdb-source, do-nothing-processor,
    iotdb-thrift-sink)."""
    return {
        "source": source.get_string_or_default(["extractor", "source"], "iotdb-source"),
        "processor": processor.get_string_or_default("processor", "do-nothing-processor"),
        "sink": sink.get_string_or_default(["connector", "sink"], "iotdb-thrift-sink"),
    }


def validate_stage(stage: Stage, parameters: PipeParameters) -> None:
    """Run the stage's validate hook, naming the plugin in a parameter error."""
    try:
        stage.call[stage.prefix + "validate"](PipeParameterValidator(parameters))
    except PipeError as exc:
        if exc.plugin_name is None:
            exc.plugin_name = stage.plugin_name
        raise


class PipeTask:
    """A running pipe. `start()` builds, validates, customizes and starts the stages and
    schedules the subtasks; `stop()` undoes it and persists the progress."""

    def __init__(
        self,
        *,
        name: str,
        creation_time: int,
        parameters: dict[str, PipeParameters],
        configuration: RuntimeConfiguration,
        registry: PluginRegistry,
        executor: SubtaskExecutor,
        config: Config,
        on_error: Callable[[PipeTask, PipeError], None],
        on_progress: Callable[[PipeTask, int, Any], None],
        counters: PipeCounters | None = None,
    ) -> None:
        self.name = name
        self.counters = counters if counters is not None else PipeCounters(name, creation_time)
        self.creation_time = creation_time
        self.parameters = parameters
        self.configuration = configuration
        self.registry = registry
        self.executor = executor
        self.pipe_config = config.pipe
        self._on_error = on_error
        self._on_progress = on_progress
        self.stages: dict[str, Stage] = {}
        self.queue = EventQueue(
            self.pipe_config.pipe_sink_pending_queue_max_events,
            self.pipe_config.pipe_sink_pending_queue_max_bytes,
        )
        self.committer = Committer(configuration.commit_id, configuration.progress)
        self.persisted_id = configuration.commit_id
        self.stopping = False
        self.failed = False
        self.heartbeat_due = False
        self.commit_notice: tuple[int, Any] | None = None
        self.processor_blocked = False
        self.supplied = 0
        self.transferred = 0
        self._timers: list[TimerHandle] = []
        self._rate_samples: deque[tuple[float, int]] = deque(maxlen=32)
        self._lock = threading.Lock()
        self.quarantine = _quarantine_of(name, parameters["sink"], configuration)
        self.processor_subtask = _ProcessorSubtask(self)
        self.sink_subtask = _SinkSubtask(self)
        self.started = False  # the subtasks are bound: a wake-up may run them
        configuration.wakeup = self.wake_source
        configuration.facts = self.facts
        configuration.counters = self.counters

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        names = plugin_names(
            self.parameters["source"], self.parameters["processor"], self.parameters["sink"]
        )
        try:
            for kind in ("source", "processor", "sink"):
                self.stages[kind] = build_stage(
                    self.registry, kind, names[kind], self.name, self.creation_time
                )
            for kind in ("source", "processor", "sink"):
                validate_stage(self.stages[kind], self.parameters[kind])
            for kind in ("source", "processor", "sink"):
                hook = self.stages[kind].prefix + "customize"
                self._call(kind, hook, self.parameters[kind], self.configuration)
            try:
                self._call("sink", "connector_handshake")
            except ConnectionError as exc:
                log.warning("pipe %s: the sink cannot connect yet, will retry: %s", self.name, exc)
                self.sink_subtask.handshake_due = True
            self._call("source", "extractor_start")
        except BaseException:
            self._close_stages()
            raise
        self.processor_subtask.bind()
        self.sink_subtask.bind()
        self.started = True
        self._rate_samples.append((time.monotonic(), 0))
        self._every(
            self.pipe_config.pipe_subtask_executor_cron_heartbeat_event_interval_seconds,
            self._heartbeat_tick,
        )
        self._every(
            self.pipe_config.pipe_heartbeat_interval_seconds_for_collecting_pipe_meta,
            lambda: self.executor.submit(self.persist_progress),
        )
        timeout = self.pipe_config.pipe_sink_timeout_ms / 1000.0
        self._every(min(max(timeout / 4, 0.01), 1.0), self._watchdog_tick)
        self.executor.wake(self.processor_subtask)

    def _call(self, kind: str, hook: str, *args: Any) -> Any:
        try:
            return self.stages[kind].call[hook](*args)
        except PipeError as exc:
            if exc.plugin_name is None:
                exc.plugin_name = self.stages[kind].plugin_name
            raise
        except Exception as exc:
            raise PipeRuntimeError(
                self.name, kind, self.stages[kind].plugin_name, hook, exc
            ) from exc

    def stop(self) -> None:
        """Stop the subtasks, persist the committed progress, close the stages."""
        self.stopping = True
        for timer in self._timers:
            timer.cancel()
        timeout = self.pipe_config.pipe_sink_timeout_ms / 1000.0
        for subtask in (self.processor_subtask, self.sink_subtask):
            if not self.executor.cancel(subtask, timeout):
                self.executor.abandon_worker_of(subtask)  # stuck in a plugin call
        try:
            self.persist_progress(notify=False)
            self._deliver_commit_notice()
        finally:
            self._close_stages()
            for event in [*self.sink_subtask.abandoned_events(), *self.queue.drain()]:
                if isinstance(event, TsFileInsertionEvent):
                    event.close()

    def _close_stages(self) -> None:
        for kind in ("source", "processor", "sink"):
            stage = self.stages.get(kind)
            if stage is not None:
                stage.close()

    def _every(self, interval: float, fn: Callable[[], None]) -> None:
        slot = len(self._timers)

        def tick() -> None:
            if self.stopping:
                return
            fn()
            self._timers[slot] = self.executor.call_later(interval, tick)

        self._timers.append(self.executor.call_later(interval, tick))

    # ------------------------------------------------------------------ timers
    def _heartbeat_tick(self) -> None:
        self.heartbeat_due = True
        self.executor.wake(self.processor_subtask)

    def _watchdog_tick(self) -> None:
        since = self.sink_subtask.busy_since
        limit = self.pipe_config.pipe_sink_timeout_ms / 1000.0
        if since and time.monotonic() - since > limit and not self.failed:
            sink = self.stages["sink"].plugin_name
            self.fail_with(
                PipeSinkTimeoutError(self.name, sink, self.pipe_config.pipe_sink_timeout_ms)
            )
            self.executor.abandon_worker_of(self.sink_subtask)

    def wake_source(self) -> None:
        """`RuntimeConfiguration.wakeup`: the source has data; run the processor subtask.

        A wake-up while the pipe is still starting (a source may call it from other threads as
        soon as it subscribes) is dropped: `start` runs the subtask once it is bound."""
        if not self.started:
            return
        self.processor_subtask.backoff = _MIN_BACKOFF
        self.executor.wake(self.processor_subtask)

    # ------------------------------------------------------------------ errors & progress
    def fail(self, kind: str, hook: str, exc: BaseException) -> None:
        plugin = self.stages[kind].plugin_name if kind in self.stages else "?"
        error = (
            exc
            if isinstance(exc, PipeRuntimeError)
            else PipeRuntimeError(self.name, kind, plugin, hook, exc)
        )
        self.fail_with(error)

    def fail_with(self, error: PipeError) -> None:
        with self._lock:
            if self.failed or self.stopping:
                return
            self.failed = True
            self.stopping = True
        self.counters.error(error)
        log.warning("pipe %s stops: %s", self.name, error)
        self.executor.submit(lambda: self._on_error(self, error))

    def persist_progress(self, notify: bool = True) -> None:
        committer = self.committer
        cid, progress = committer.committed_id, committer.committed_progress
        self._rate_samples.append((time.monotonic(), committer.committed_count))
        if cid <= self.persisted_id:
            return
        self._on_progress(self, cid, progress)
        self.persisted_id = cid
        self.commit_notice = (cid, progress)
        if notify and not self.stopping:
            self.executor.wake(self.processor_subtask)

    def _deliver_commit_notice(self) -> None:
        notice, self.commit_notice = self.commit_notice, None
        if notice is not None and "source" in self.stages:
            try:
                self.stages["source"].call["extractor_commit"](*notice)
            except Exception as exc:
                if not self.stopping:
                    raise PipeRuntimeError(
                        self.name,
                        "source",
                        self.stages["source"].plugin_name,
                        "extractor_commit",
                        exc,
                    ) from exc
                log.exception("pipe %s: extractor_commit failed while stopping", self.name)

    def _source_call(self, hook: str) -> Any:
        """A read-only source hook for the pipe's figures (None when stopping or failing)."""
        if "source" not in self.stages or self.stopping:
            return None
        try:
            return self.stages["source"].call[hook]()
        except Exception:
            log.exception("pipe %s: %s failed", self.name, hook)
            return None

    def rate_samples(self, now: float) -> list[tuple[float, int]]:
        """(monotonic time, committed inputs) samples, oldest first: one per progress save and
        one per look at the figures at most every half second."""
        samples = self._rate_samples
        if not samples or now - samples[-1][0] >= 0.5:
            samples.append((now, self.committer.committed_count))
        for _ in range(8):
            try:
                return list(samples)
            except RuntimeError:  # appended to by another thread meanwhile
                continue
        return []

    def remaining(self, with_data: bool = True) -> PipeRemaining:
        """The pipe's backlog (`pipecore.observability.remaining_figures`); `with_data` also
        measures it in points and bytes (asks the source's ``extractor_backlog``)."""
        source_remaining = self._source_call("extractor_remaining_events")
        backlog: SourceBacklog | None = None
        if with_data:
            found = self._source_call("extractor_backlog")
            backlog = found if isinstance(found, SourceBacklog) else None
        return remaining_figures(self, source_remaining, backlog, with_data=with_data)

    def facts(self) -> PipeRuntimeFacts:
        remaining = self.remaining(with_data=False)
        return PipeRuntimeFacts(
            queued_events=len(self.queue),
            queued_bytes=self.queue.nbytes,
            queue_max_events=self.queue.max_events,
            queue_max_bytes=self.queue.max_bytes,
            back_pressured=self.processor_blocked,
            in_flight_events=remaining.in_flight,
            supplied_events=self.supplied,
            transferred_events=self.transferred,
            committed_commit_id=self.committer.committed_id,
            source_remaining_events=remaining.source_events,
            events_per_second=remaining.events_per_second,
            remaining=remaining,
            outage=self.configuration.outage.snapshot(),
        )


class _ProcessorSubtask:
    """Supply → process → collect, while the queue has room."""

    def __init__(self, task: PipeTask) -> None:
        self.task = task
        self.backoff = _MIN_BACKOFF

    def bind(self) -> None:
        task = self.task
        self.supply = task.stages["source"].call["extractor_supply"]
        processor = task.stages["processor"].call
        self.collector = _Collector(
            task.queue, task.committer, lambda: task.executor.wake(task.sink_subtask)
        )
        self.hooks: dict[type, tuple[str, Callable[..., Any]]] = {}
        self.by_kind = {
            "tablet": ("processor_process_tablet", processor["processor_process_tablet"]),
            "tsfile": ("processor_process_tsfile", processor["processor_process_tsfile"]),
            "event": ("processor_process_event", processor["processor_process_event"]),
        }

    def _hook_for(self, cls: type) -> tuple[str, Callable[..., Any]]:
        if issubclass(cls, TabletInsertionEvent):
            found = self.by_kind["tablet"]
        elif issubclass(cls, TsFileInsertionEvent):
            found = self.by_kind["tsfile"]
        else:
            found = self.by_kind["event"]
        self.hooks[cls] = found
        return found

    def run_subtask(self) -> float | None:
        task = self.task
        if task.stopping:
            return None
        where, kind = "extractor_commit", "source"
        try:
            if task.commit_notice is not None:
                task._deliver_commit_notice()
            queue, committer, collector = task.queue, task.committer, self.collector
            counters = task.counters
            now = time.monotonic()  # when this slice's inputs begin (for the pipe's lag)
            deadline = time.perf_counter() + _SLICE_SECONDS
            n = 0
            while not task.stopping:
                if queue.full():
                    task.processor_blocked = True
                    if queue.full():
                        return None  # the sink subtask wakes us when there is room
                    task.processor_blocked = False
                if task.heartbeat_due:
                    task.heartbeat_due = False
                    event: Event = HeartbeatEvent()
                else:
                    where, kind = "extractor_supply", "source"
                    supplied = self.supply()
                    if supplied is None:
                        self.backoff = min(self.backoff * 2, _MAX_BACKOFF)
                        return self.backoff
                    self.backoff = _MIN_BACKOFF
                    task.supplied += 1
                    counters.supplied(supplied)
                    event = supplied
                cid = committer.begin(event.progress, now)
                event.commit_id = cid
                collector.current = cid
                where, hook = self.hooks.get(type(event)) or self._hook_for(type(event))
                kind = "processor"
                hook(event, collector)
                committer.input_done(cid)
                n += 1
                if n & 31 == 0:
                    if time.perf_counter() > deadline:
                        return 0
                    now = time.monotonic()
            return None
        except Exception as exc:
            task.fail(kind, where, exc)
            return None


class _SinkSubtask:
    """Queue → transfer → commit; retries connection errors after a back-off.

    A transfer hook may return a `concurrent.futures.Future`: the event is then *pending*
    until the future completes (on any thread); completions are handed to this subtask, which
    commits them (the committer keeps the order) and retries or fails as for a synchronous
    transfer. Pending events count against the queue's bounds: while they reach them, nothing
    more is transferred.
    """

    def __init__(self, task: PipeTask) -> None:
        self.task = task
        self.busy_since = 0.0
        self.retry_events: deque[Event] = deque()
        self.retry_at = 0.0
        self.retries = 0
        self.handshake_due = False
        self.pending: dict[int, Event] = {}  # id(event) -> event, transfer returned a future
        self.pending_since: dict[int, float] = {}  # id(event) -> when its transfer began
        self.pending_bytes = 0
        self.unflushed = False  # a transfer returned a pending future since the last flush
        self._completions: deque[tuple[Event, BaseException | None]] = deque()

    def bind(self) -> None:
        calls = self.task.stages["sink"].call
        self.transfer_tablet = calls["connector_transfer_tablet"]
        self.transfer_tsfile = calls["connector_transfer_tsfile"]
        self.transfer_event = calls["connector_transfer_event"]
        self.heartbeat = calls["connector_heartbeat"]
        self.handshake = calls["connector_handshake"]
        self.flush = calls["connector_flush"]

    def _transfer(self, event: Event) -> Any:
        """Transfer one event; returns what the hook returned (None or a future)."""
        cls = type(event)
        if cls is TabletInsertionEvent or isinstance(event, TabletInsertionEvent):
            return self.transfer_tablet(event)
        if isinstance(event, TsFileInsertionEvent):
            return self.transfer_tsfile(event)
        if isinstance(event, HeartbeatEvent):
            self.heartbeat()
        return self.transfer_event(event)

    def run_subtask(self) -> float | None:
        task = self.task
        if task.stopping:
            return None
        queue = task.queue
        deadline = time.perf_counter() + _SLICE_SECONDS
        n = 0
        while not task.stopping:
            if self._completions and not self._drain_completions():
                return None
            if self.handshake_due:
                wait = self.retry_at - time.monotonic()
                if wait > 0:
                    return wait
                try:
                    self.busy_since = time.monotonic()
                    self.handshake()
                except ConnectionError as exc:
                    task.counters.connection_lost(exc)
                    return self._retry_later(None, exc)
                except Exception as exc:
                    if not task.stopping:
                        task.fail("sink", "connector_handshake", exc)
                    return None
                finally:
                    self.busy_since = 0.0
                self.handshake_due = False
                task.counters.connection_ok()
            retrying = bool(self.retry_events)
            if retrying:
                event = self.retry_events[0]
            else:
                if self.pending and (
                    len(self.pending) >= queue.max_events or self.pending_bytes >= queue.max_bytes
                ):
                    self._flush()
                    return None  # a completion wakes us
                polled = queue.poll()
                if polled is None:
                    self._flush()
                    return None  # the collector wakes us on the next event
                event = polled
                if task.processor_blocked and not queue.full():
                    task.processor_blocked = False
                    task.executor.wake(task.processor_subtask)
            try:
                began = self.busy_since = time.monotonic()
                outcome = self._transfer(event)
            except ConnectionError as exc:
                if not retrying:
                    self.retry_events.append(event)
                task.counters.connection_lost(exc)
                return self._retry_later(event, exc)
            except Exception as exc:
                verdict = self._poison(event, exc, retrying)
                if verdict != QUARANTINED:
                    return verdict
                outcome = None  # put aside (pipecore.quarantine): the event is done
            finally:
                self.busy_since = 0.0
            if retrying:
                self.retry_events.popleft()
            if outcome is None:
                if self.retries:  # a pending future proves nothing yet: its completion does
                    task.configuration.outage.recovered()
                self.retries = 0
                self._done(event, time.monotonic() - began)
            else:
                self._track(event, outcome, began)
            n += 1
            if n & 31 == 0 and time.perf_counter() > deadline:
                return 0
        return None

    def _flush(self) -> None:
        """No further event for the sink now: what it holds back goes (``connector_flush``),
        once per run of pending transfers."""
        if not self.unflushed:
            return
        self.unflushed = False
        try:
            self.busy_since = time.monotonic()  # a hung send is given up as a transfer is
            self.flush()
        except ConnectionError as exc:  # the held events' futures report it and are retried
            log.info("pipe %s: flush: %s", self.task.name, exc)
        except Exception as exc:
            if not self.task.stopping:
                self.task.fail("sink", "connector_flush", exc)
        finally:
            self.busy_since = 0.0

    def _done(self, event: Event, seconds: float | None = None) -> None:
        task = self.task
        if isinstance(event, TsFileInsertionEvent):
            event.close()
        task.transferred += 1
        task.counters.transferred_event(event, seconds)
        task.committer.output_done(event.commit_id)

    def _track(self, event: Event, future: Any, began: float) -> None:
        """`future` (returned by the hook) completes `event` later."""
        if not hasattr(future, "add_done_callback"):
            wrong = PipeError(
                f"pipe {self.task.name}: a sink transfer hook returned {future!r}; expected "
                "None or a concurrent.futures.Future"
            )
            self.task.fail("sink", _hook_of(event), wrong)
            return
        if future.done():
            error = _future_error(future)
            if error is None:
                self._done(event, time.monotonic() - began)
            else:
                self._completions.append((event, error))
            return
        self.pending[id(event)] = event
        self.pending_since[id(event)] = began
        self.pending_bytes += event.nbytes
        self.unflushed = True
        future.add_done_callback(lambda f, e=event: self._on_completion(e, f))

    def _on_completion(self, event: Event, future: Any) -> None:
        """Any thread: hand the outcome to the subtask."""
        self._completions.append((event, _future_error(future)))
        if not self.task.stopping:
            self.task.executor.wake(self)

    def _drain_completions(self) -> bool:
        """Commit completed events, queue those failed by a connection error for a retry;
        False when another failure stopped the pipe."""
        task = self.task
        while self._completions:
            event, error = self._completions.popleft()
            began = self.pending_since.pop(id(event), None)
            if self.pending.pop(id(event), None) is not None:
                self.pending_bytes -= event.nbytes
            if error is None:
                self._done(event, None if began is None else time.monotonic() - began)
                task.configuration.outage.recovered()
                self.retries = 0
            elif isinstance(error, ConnectionError):
                task.counters.connection_lost(error)
                self.retry_events.append(event)
                # the first failure of a wave counts a retry and backs off as a synchronous
                # one does; the futures failing with it wait for the same handshake
                if not self.handshake_due and self._retry_later(event, error) is None:
                    return False  # no local retries left: the pipe failed
            else:
                verdict = self.task.quarantine.verdict(event, error)
                if verdict == QUARANTINED:
                    self._done(event)
                elif verdict == RETRY:
                    self._retry_poison(event)
                else:
                    if not task.stopping:
                        task.fail("sink", _hook_of(event), error)
                    return False
        return True

    def _poison(self, event: Event, exc: Exception, retrying: bool) -> Any:
        """A transfer raised (not a connection error): retry, quarantine (QUARANTINED is
        returned; the caller goes on) or fail the pipe (None is returned)."""
        task = self.task
        if task.stopping:
            return None
        verdict = task.quarantine.verdict(event, exc)
        if verdict == QUARANTINED:
            return QUARANTINED
        if verdict == RETRY:
            if not retrying:
                self.retry_events.append(event)
            return self._retry_poison(None)
        task.fail("sink", _hook_of(event), exc)
        return None

    def _retry_poison(self, event: Event | None) -> float:
        """Try a refused event again after a back-off (a handshake first, as for a
        connection error, so a receiver that reset the connection's state is asked anew)."""
        if event is not None:
            self.retry_events.append(event)
        self.retries += 1
        delay = min(
            self.retries * self.task.pipe_config.pipe_sink_retry_interval_ms / 1000.0,
            _MAX_RETRY_BACKOFF,
        )
        self.handshake_due = True
        self.retry_at = time.monotonic() + delay
        return delay

    def abandoned_events(self) -> list[Event]:
        """Events transferred but not done (pending or awaiting a retry), for `stop`."""
        return [*self.pending.values(), *self.retry_events]

    def _retry_later(self, event: Event | None, exc: Exception) -> float | None:
        """After a connection error: handshake again, then retry, after a back-off."""
        task = self.task
        self.handshake_due = True
        self.retries += 1
        config = task.pipe_config
        if (
            not config.pipe_sink_retry_locally_for_connection_error
            and self.retries > _LOCAL_RETRIES_WITHOUT_RETRY_LOCALLY
        ):
            task.fail("sink", _hook_of(event), exc)
            return None
        log.warning("pipe %s: connection error (retry %d): %s", task.name, self.retries, exc)
        task.configuration.outage.retry(str(exc))
        delay = min(self.retries * config.pipe_sink_retry_interval_ms / 1000.0, _MAX_RETRY_BACKOFF)
        self.retry_at = time.monotonic() + delay
        return delay


def _quarantine_of(
    name: str, sink: PipeParameters, configuration: RuntimeConfiguration
) -> Quarantine:
    """The pipe's quarantine (``sink.quarantine.max-tries``; 0, the default, turns it off)."""
    tries = sink.get_int_or_default(MAX_TRIES_KEYS, 0)
    root = quarantine_root(Path(configuration.data_dir).parents[2])
    return Quarantine(root, name, tries)


def _future_error(future: Any) -> BaseException | None:
    if future.cancelled():
        return PipeError("the sink cancelled the transfer of an event")
    return future.exception()


def _hook_of(event: Event | None) -> str:
    if event is None:
        return "connector_handshake"
    if isinstance(event, TabletInsertionEvent):
        return "connector_transfer_tablet"
    if isinstance(event, TsFileInsertionEvent):
        return "connector_transfer_tsfile"
    if isinstance(event, HeartbeatEvent):
        return "connector_heartbeat"
    return "connector_transfer_event"
