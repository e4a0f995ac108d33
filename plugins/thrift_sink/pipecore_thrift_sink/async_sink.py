"""``iotdb-thrift-sink`` / ``iotdb-thrift-async-sink``: several connections busy at once.

Transfers return futures (docs/hooks.md, "Completing transfers later"); the requests — a
tablet (type 3), a batch (type 6) or a whole TsFile (pieces + seal) — are *units* run by
``pipe_sink_max_client_number`` worker threads, each with its own connection to every
endpoint (load balancing and fail-over as the sync sink).

Order: a unit never starts while an earlier unit that writes a common device in an
overlapping time range is unsent (`overlaps`); units without such a conflict run in
parallel. So a later write to a series and time never overtakes an earlier one, and the core
commits the events in order whatever order the units finish in. A unit whose connection
breaks is retried by its worker (reconnecting, failing over) until it goes through — it keeps
its place, conflicting units wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from pipecore import (
    DeletionEvent,
    Event,
    HeartbeatEvent,
    PipeConnectionError,
    PipeError,
    PipeParameters,
    RuntimeConfiguration,
    SchemaEvent,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)

from .batching import Footprint, PendingBatch, footprint_of_tablet, overlaps
from .client import ClientSet, SinkClient
from .errors import SinkClosedError
from .flusher import BatchFlusher
from .sink import ThriftSinkBase, lineage_of

__all__ = ["IoTDBThriftAsyncSink"]

log = logging.getLogger("pipecore.thrift_sink")

_SCAN_LIMIT = 64  # waiting units looked at for one that may start
_MAX_BACKOFF = 20.0
_RETRIES_WITHOUT_RETRY_LOCALLY = 5


class _Unit:
    """One request (or file) to run on a connection; `footprint` None = conflicts with all."""

    __slots__ = ("describe", "footprint", "future", "run")

    def __init__(
        self,
        run: Callable[[SinkClient], None],
        footprint: Footprint | None,
        describe: Callable[[], str],
        future: Future[None] | None = None,
    ) -> None:
        self.run = run
        self.footprint = footprint
        self.describe = describe
        self.future: Future[None] = future if future is not None else Future()

    def conflicts(self, other: _Unit) -> bool:
        if self.footprint is None or other.footprint is None:
            return True
        return overlaps(self.footprint, other.footprint)


class _Scheduler:
    """Waiting and running units; `take` hands out the first unit free of conflicts."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: deque[_Unit] = deque()
        self.running: list[_Unit] = []
        self.closed = False

    def submit(self, unit: _Unit) -> None:
        with self.cond:
            if self.closed:
                raise SinkClosedError("the sink is closed")
            self.waiting.append(unit)
            self.cond.notify()

    def _startable(self) -> _Unit | None:
        earlier: list[_Unit] = []
        for i, unit in enumerate(self.waiting):
            if i >= _SCAN_LIMIT:
                return None
            if not any(unit.conflicts(r) for r in self.running) and not any(
                unit.conflicts(e) for e in earlier
            ):
                del self.waiting[i]
                return unit
            earlier.append(unit)
        return None

    def take(self) -> _Unit | None:
        with self.cond:
            while not self.closed:
                unit = self._startable()
                if unit is not None:
                    self.running.append(unit)
                    return unit
                self.cond.wait()
            return None

    def finish(self, unit: _Unit) -> None:
        with self.cond:
            self.running.remove(unit)
            self.cond.notify_all()

    def idle(self) -> bool:
        return not self.waiting and not self.running

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.idle():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def close(self) -> list[_Unit]:
        with self.cond:
            self.closed = True
            left = list(self.waiting)
            self.waiting.clear()
            self.cond.notify_all()
            return left


class IoTDBThriftAsyncSink(ThriftSinkBase):
    """The asynchronous thrift sink (the default ``iotdb-thrift-sink``)."""

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        self._lock = threading.Condition()
        self._batch: PendingBatch | None = None
        self._scheduler = _Scheduler()
        self._workers: list[threading.Thread] = []
        self._worker_clients: list[ClientSet] = []
        self._flusher: BatchFlusher | None = None
        pipe = getattr(configuration.node_config, "pipe", None)
        self._retry_locally = (
            pipe.pipe_sink_retry_locally_for_connection_error if pipe is not None else True
        )

    # ------------------------------------------------------------------ transfers
    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None]:
        self._ensure_started()
        tablet = event.tablet
        if not self.options.batch_enable:
            unit = _Unit(
                lambda client: self.send_tablet_now(event, client),
                footprint_of_tablet(tablet),
                lambda: f"a tablet of {tablet.device}",
            )
            self._scheduler.submit(unit)
            return unit.future
        with self._lock:
            lineage = lineage_of(event)
            if self._batch is not None and self._batch.lineage != lineage:
                self._submit_batch()  # one lineage per batch
            batch = self._batch
            if batch is None:
                batch = self._batch = PendingBatch(lineage)
                self._lock.notify_all()
            batch.add(tablet)
            if batch.size_bytes >= self.options.batch_size_bytes:
                self._submit_batch()
            return batch.future

    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> Future[None] | None:
        if self.options.format == "tablet":
            return super().connector_transfer_tsfile(event)
        self._ensure_started()
        with self._lock:
            self._submit_batch()
        index = dict(event.device_time_index)
        unit = _Unit(
            lambda client: self.send_file_now(event, client),
            index or None,
            lambda: f"TsFile {event.path}",
        )
        self._scheduler.submit(unit)
        return unit.future

    def connector_transfer_event(self, event: Event) -> Future[None] | None:
        if isinstance(event, HeartbeatEvent):
            with self._lock:
                batch = self._batch
                if batch is not None and batch.due(self.options.batch_max_delay):
                    self._submit_batch()
            return None
        if isinstance(event, DeletionEvent):
            self._ensure_started()
            with self._lock:
                self._submit_batch()
            unit = _Unit(  # no footprint: ordered after and before every other unit
                lambda client: self.send_deletion_now(event, client),
                None,
                lambda: f"a deletion of {event.path_pattern}",
            )
            self._scheduler.submit(unit)
            return unit.future
        if isinstance(event, SchemaEvent):
            self._ensure_started()
            with self._lock:
                self._submit_batch()
            unit = _Unit(  # no footprint: ordered after and before every other unit
                lambda client: self.send_schema_now(event, client),
                None,
                lambda: f"{len(event.records)} schema change(s)",
            )
            self._scheduler.submit(unit)
            return unit.future
        return super().connector_transfer_event(event)

    def connector_flush(self) -> None:
        """The pipe has nothing more for this sink now: the open batch goes at once."""
        with self._lock, contextlib.suppress(SinkClosedError):
            self._submit_batch()

    def connector_close(self) -> None:
        """Send what is batched and in flight (waiting up to 2 s), then stop every thread."""
        if not hasattr(self, "_scheduler"):
            return
        with self._lock:
            with contextlib.suppress(SinkClosedError):
                self._submit_batch()
            self.closed = True
            self._lock.notify_all()
        if self._workers:
            self._scheduler.wait_idle(2.0)
        self.policy.closing.set()
        for unit in self._scheduler.close():
            if not unit.future.done():
                unit.future.set_exception(SinkClosedError("the sink was closed"))
        for clients in self._worker_clients:
            clients.close()
        self.close_clients()
        me = threading.current_thread()
        for thread in self._workers:
            if thread is not me:
                thread.join(5.0)
        if self._flusher is not None:
            self._flusher.join(5.0)

    # ------------------------------------------------------------------ machinery
    def _submit_batch(self) -> None:
        """Hand the current batch to the workers (caller holds `_lock`)."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        self._scheduler.submit(
            _Unit(
                lambda client: self.send_batch_now(batch, client),
                dict(batch.footprint),
                batch.describe,
                batch.future,
            )
        )

    def _ensure_started(self) -> None:
        if self.closed:
            raise SinkClosedError("the sink is closed")
        if self._workers:
            return
        with self._lock:
            if self._workers:
                return
            count = self.settings.pipe_sink_max_client_number
            for i in range(count):
                clients = (
                    self.clients
                    if i == 0
                    else ClientSet(
                        self.options.endpoints,
                        self.options.load_balance_strategy,
                        self.client_settings,
                    )
                )  # worker 0 uses the connections of the handshake
                self._worker_clients.append(clients)
                thread = threading.Thread(
                    target=self._work,
                    args=(clients,),
                    name=f"pipecore-sink-{self._pipe}-{i}",
                    daemon=True,
                )
                self._workers.append(thread)
                thread.start()
            if self.options.batch_enable and self.options.batch_max_delay is not None:
                self._flusher = BatchFlusher(
                    f"pipecore-batch-{self._pipe}",
                    self._lock,
                    self._next_due,
                    self._flush_due,
                    lambda: self.closed,
                )
                self._flusher.start()

    def _next_due(self) -> float | None:
        """When the open batch's delay has passed (caller holds `_lock`)."""
        if self._batch is None or self.options.batch_max_delay is None:
            return None
        return self._batch.started + self.options.batch_max_delay

    def _flush_due(self) -> bool:
        """The flusher's turn: hand the due batch to the workers; False once the sink closed."""
        try:
            self._submit_batch()
        except SinkClosedError:
            return False
        return True

    def _work(self, clients: ClientSet) -> None:
        while True:
            unit = self._scheduler.take()
            if unit is None:
                return
            try:
                self._run(unit, clients)
            finally:
                self._scheduler.finish(unit)

    def _run(self, unit: _Unit, clients: ClientSet) -> None:
        """Run `unit` until it goes through; connection errors are retried here (the unit
        keeps its place), anything else fails its future."""
        failures = 0
        while True:
            try:
                if not clients.alive():
                    clients.connect()
                unit.run(clients.pick())
            except SinkClosedError as exc:
                unit.future.set_exception(exc)
                return
            except PipeConnectionError as exc:
                failures += 1
                self.outage.retry(f"{unit.describe()}: {exc}")
                counters = self.configuration.counters
                if counters is not None and not self.closed:
                    counters.connection_lost(exc)
                if self.closed:
                    unit.future.set_exception(SinkClosedError(f"the sink was closed: {exc}"))
                    return
                if not self._retry_locally and failures > _RETRIES_WITHOUT_RETRY_LOCALLY:
                    unit.future.set_exception(
                        PipeError(f"{unit.describe()} failed {failures} times: {exc}")
                    )
                    return
                if failures == 1 or failures % 10 == 0:
                    log.warning(
                        "pipe %s: %s: %s (retry %d)", self._pipe, unit.describe(), exc, failures
                    )
                if self.policy.closing.wait(
                    min(failures * self.policy.retry_interval, _MAX_BACKOFF)
                ):
                    unit.future.set_exception(SinkClosedError("the sink was closed"))
                    return
                continue
            except BaseException as exc:
                log.warning("pipe %s: %s failed: %s", self._pipe, unit.describe(), exc)
                unit.future.set_exception(exc)
                return
            if failures:
                self.outage.recovered()
                if self.configuration.counters is not None:
                    self.configuration.counters.connection_ok()
            unit.future.set_result(None)
            return
