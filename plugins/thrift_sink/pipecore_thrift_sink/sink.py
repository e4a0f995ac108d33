"""``iotdb-thrift-sync-sink``: IoTDB's pipe protocol over one connection at a time.

* Tablets: type 3 each, or — with ``batch.enable`` (default) — gathered into type-6 batches
  sent when they reach ``batch.size-bytes``, have waited ``batch.max-delay-*``, or the pipe
  has nothing more for the sink now (``connector_flush``). A batched event's transfer returns
  a future that completes when its batch is acknowledged (the core commits in order,
  docs/hooks.md).
* TsFiles: pending batches first, then the file in pieces and its seal (files.py).
* Failures: a broken connection raises `PipeConnectionError` (the runtime handshakes again
  and retries; a batch that could not be sent is sent before anything newer); statuses follow
  the ``exception.*`` rules (status.py); a refused handshake raises `ReceiverRefusedError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pipecore import (
    Connector,
    DeletionEvent,
    DigestRequest,
    Event,
    HeartbeatEvent,
    NodeShared,
    OutageReport,
    PipeConnectionError,
    PipeParameterNotValidError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    SchemaEvent,
    TabletInsertionEvent,
    TsFileInsertionEvent,
    WindowDigests,
)

from .batching import PendingBatch
from .client import (
    ClientSet,
    ClientSettings,
    SinkClient,
    thrift_transport,
    thrift_transport_factory,
)
from .config import ThriftSinkSection, thrift_settings
from .config_sink import config_handshake, send_config_records, split_config_runs
from .encodings import declared_encodings
from .errors import ReceiverRefusedError, SinkClosedError
from .files import prepare_tsfile, send_tsfile
from .flusher import BatchFlusher
from .options import SinkOptions, keys
from .protocol import (
    DeleteDataNode,
    HandshakeParams,
    PipeRequestType,
    TSStatusCode,
    encode_delete_node,
    encode_tablet_raw,
)
from .protocol.schema_iotdb import iotdb_schema_requests
from .protocol.schema_plan import SCHEMA_REQUEST_TYPE, schema_requests
from .ratelimit import RateLimiter
from .status import StatusPolicy
from .verify import request_digests

__all__ = ["IoTDBThriftSyncSink", "ThriftSinkBase", "lineage_of", "refuse_ssl_options"]

log = logging.getLogger("pipecore.thrift_sink")


def _global_limiter(shared: NodeShared, rate: float) -> RateLimiter | None:
    """One limiter per node and node-wide rate (``pipe_all_sinks_rate_limit_bytes_per_second``),
    kept in the node's shared objects (`RuntimeConfiguration.shared`)."""
    if rate <= 0:
        return None
    return shared.get(f"thrift-sink.all-sinks-rate-limiter.{rate!r}", lambda: RateLimiter(rate))


_SSL_KEYS = (
    "ssl.trust-store-path",
    "ssl.trust-store-pwd",
    "ssl.key-store-path",
    "ssl.key-store-pwd",
)


def lineage_of(event: Event) -> tuple[str, ...]:
    """The clusters the event's data came through (its origin's path; empty for local
    writes): told to a pipecore receiver so that rings of pipes never loop."""
    origin = getattr(event, "origin", None)
    return tuple(getattr(origin, "path", ()) or ())


def refuse_ssl_options(parameters: PipeParameters) -> None:
    """IoTDB's check: only ``iotdb-thrift-ssl-sink`` takes ``ssl.enable=true`` or a trust or
    key store (as ``sink.ssl.*``, ``connector.ssl.*`` or bare ``ssl.*``); a sink that would
    send in plain text refuses them."""
    wanted = parameters.get_boolean_or_default(keys("ssl.enable"), False) or any(
        parameters.has_any_attributes(*keys(key)) for key in _SSL_KEYS
    )
    if wanted:
        raise PipeParameterNotValidError(
            "Only 'iotdb-thrift-ssl-sink' supports SSL transmission currently.",
            key="sink.ssl.enable",
            expected="'sink'='iotdb-thrift-ssl-sink'",
        )


class ThriftSinkBase(Connector):
    """What the sync and async thrift sinks share: parameters, clients, the status rules.

    Subclasses may override `transport_factory` (the SSL sink: TLS; the air-gap sink: its
    framing) and `file_policy` (what a failed piece or seal does) to reuse everything else.
    """

    options: SinkOptions
    settings: ThriftSinkSection
    clients: ClientSet
    policy: StatusPolicy

    # ------------------------------------------------------------------ to override
    def transport_factory(self) -> Any:
        """Callable ``(endpoint, timeout, connect_timeout) -> Transport``."""
        if self.options.send_ports:
            return thrift_transport_factory(send_ports=self.options.send_ports)
        return thrift_transport

    #: whether this sink speaks TLS (the SSL sink); the others refuse SSL options
    ssl_capable: bool = False

    # ------------------------------------------------------------------ lifecycle
    def connector_validate(self, validator: PipeParameterValidator) -> None:
        if not self.ssl_capable:
            refuse_ssl_options(validator.parameters)
        SinkOptions.parse(validator.parameters)

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        self.options = o = SinkOptions.parse(parameters)
        node_config = configuration.node_config
        self.settings = s = thrift_settings(node_config)
        precision = getattr(node_config, "timestamp_precision", "ms") if node_config else "ms"
        pipe = getattr(node_config, "pipe", None)
        timeout = pipe.pipe_sink_timeout_ms / 1000.0 if pipe is not None else 900.0
        retry = pipe.pipe_sink_retry_interval_ms / 1000.0 if pipe is not None else 0.8
        handshake = HandshakeParams(
            timestamp_precision=precision,
            cluster_id=configuration.cluster_id,
            username=o.username,
            password=o.password,
            convert_on_type_mismatch=o.convert_on_type_mismatch,
            load_tsfile_strategy=o.load_tsfile_strategy,
            validate_tsfile=o.load_tsfile_validation,
            mark_as_pipe_request=o.mark_as_pipe_request,
        )
        self.client_settings = ClientSettings(
            handshake=handshake,
            timeout=timeout,
            handshake_timeout=s.pipe_sink_handshake_timeout_ms / 1000.0,
            compressors=o.compressors,
            zstd_level=o.zstd_level,
            slice_threshold=s.pipe_connector_request_slice_threshold_bytes,
            rate_limit=o.rate_limit_bytes_per_second,
            global_limiter=_global_limiter(
                configuration.shared, s.pipe_all_sinks_rate_limit_bytes_per_second
            ),
            transport_factory=self.transport_factory(),
        )
        self.clients = ClientSet(o.endpoints, o.load_balance_strategy, self.client_settings)
        self.outage: OutageReport = getattr(configuration, "outage", None) or OutageReport()
        self.policy = StatusPolicy(o, retry, self.outage)
        self.policy.counters = configuration.counters
        self.scratch_dir = Path(configuration.data_dir) / "thrift-sink"
        self.closed = False

    def connector_handshake(self) -> None:
        """Connect every endpoint that is not connected. With ``handshake-on-create=false`` a
        failure is only logged (CREATE PIPE then succeeds; transfers retry)."""
        try:
            self.clients.connect(force=True)
        except (PipeConnectionError, ReceiverRefusedError) as exc:
            if self.options.handshake_on_create:
                raise
            log.warning("sink of pipe %s: %s (handshake-on-create=false)", self._pipe, exc)

    @property
    def _pipe(self) -> str:
        config = getattr(self, "configuration", None)
        return getattr(config, "pipe_name", "?")

    def connector_heartbeat(self) -> None:
        """Reconnect dead endpoints that are due for another try."""
        if not self.closed:
            self.clients.connect()

    def connector_transfer_event(self, event: Event) -> Future[None] | None:
        return None

    def send_deletion_now(self, event: DeletionEvent, client: SinkClient) -> None:
        """A deletion as IoTDB 1.3 sends one: a DeleteDataNode in a plan-node request
        (type 100)."""
        body = encode_delete_node(
            DeleteDataNode((event.path_pattern,), event.start_time, event.end_time)
        )
        lineage = lineage_of(event)
        self.policy.deliver(
            lambda: client.send(PipeRequestType.TRANSFER_SCHEMA_PLAN, body, lineage),
            lambda: f"a deletion of {event.path_pattern}",
            str(client.endpoint),
        )

    def send_schema_now(self, event: SchemaEvent, client: SinkClient) -> None:
        """Schema changes (or the starting snapshot), in order: databases as IoTDB's config
        plans (type 200, `config_sink`); to a real IoTDB the rest in IoTDB's own layout
        (schema-region plan nodes in type 100, a series deletion as config plan 1702:
        `protocol.schema_iotdb`); to pipecore in pipecore's schema request (29002,
        `protocol.schema_plan`), which carries more."""
        lineage = lineage_of(event)
        to_iotdb = client.info is not None and not client.info.is_pipecore
        for config, run in split_config_runs(event.records):
            # databases: IoTDB's config plans (type 200, config_sink.py)
            if config and send_config_records(self, client, run, lineage):
                continue
            if to_iotdb:  # IoTDB's own schema-region layout (protocol/schema_iotdb.py)
                sent = self.__dict__.setdefault("_iotdb_sent_meta", {})
                for type_, body, count in iotdb_schema_requests(run, event.snapshot, sent):
                    if type_ == PipeRequestType.TRANSFER_CONFIG_PLAN:
                        config_handshake(client)
                    self._deliver_schema(client, type_, body, count, lineage)
                continue
            for type_, body, count in schema_requests(run, event.snapshot):
                self._deliver_schema(client, type_, body, count, lineage)

    def _deliver_schema(
        self, client: SinkClient, type_: int, body: bytes, count: int, lineage: tuple[str, ...]
    ) -> None:
        own = type_ == SCHEMA_REQUEST_TYPE
        resp = self.policy.deliver(
            lambda: client.send(type_, body, lineage),
            lambda: f"{count} schema change(s)",
            str(client.endpoint),
            handle=(TSStatusCode.PIPE_TYPE_ERROR,) if own else (),
        )
        if own and resp.status.code == TSStatusCode.PIPE_TYPE_ERROR:
            log.warning(
                "receiver %s does not take pipecore's schema request (%s): %d schema change(s) "
                "skipped (databases, aligned series, deletions, alias/tag changes); series "
                "creations still go as IoTDB's CreateTimeSeriesNode",
                client.endpoint,
                resp.status,
                count,
            )

    # ------------------------------------------------------------------ helpers
    def pick(self) -> SinkClient:
        return self.clients.pick()

    def with_failover(self, action: Callable[[SinkClient], None]) -> None:
        """Run `action` on a live client; when its connection breaks, on the next live one
        (fail-over). Raises `PipeConnectionError` once no client is alive."""
        while True:
            client = self.clients.pick()
            try:
                action(client)
                return
            except PipeConnectionError as exc:
                if self.closed or not self.clients.alive():
                    raise
                log.warning("pipe %s: %s; failing over", self._pipe, exc)

    def send_tablet_now(self, event: TabletInsertionEvent, client: SinkClient) -> None:
        body = encode_tablet_raw(event.tablet)
        lineage = lineage_of(event)
        self.policy.deliver(
            lambda: client.send(PipeRequestType.TRANSFER_TABLET_RAW, body, lineage),
            lambda: f"a tablet of {event.tablet.device} ({event.tablet.row_count} rows)",
            str(client.endpoint),
        )

    def send_batch_now(self, batch: PendingBatch, client: SinkClient) -> None:
        body = batch.builder.body()
        self.policy.deliver(
            lambda: client.send(PipeRequestType.TRANSFER_TABLET_BATCH, body, batch.lineage),
            batch.describe,
            str(client.endpoint),
        )

    def wanted_version(self, client: SinkClient) -> int | None:
        """TsFile format version to send to `client` (None: as the file is)."""
        choice = self.options.tsfile_format_version
        if choice != "auto":
            return int(choice)
        info = client.info
        return info.auto_tsfile_version if info is not None else 3

    def file_policy(self) -> StatusPolicy:
        """The status rules for a TsFile's pieces and seal (the air-gap sink: a FAIL sends
        the whole file again)."""
        return self.policy

    def send_file_now(self, event: TsFileInsertionEvent, client: SinkClient) -> None:
        prepared = prepare_tsfile(
            Path(event.path),
            self.wanted_version(client),
            self.scratch_dir,
            mods=getattr(event, "mods_path", None),  # iotdb-source's events carry these
            deletions=getattr(event, "deletions", None),
        )
        try:
            send_tsfile(
                client,
                self.file_policy(),
                prepared,
                self.settings.pipe_sink_read_file_buffer_size,
                lineage_of(event),
                encodings=declared_encodings(
                    getattr(self.configuration, "store", None), dict(event.device_time_index)
                ),
            )
        finally:
            prepared.cleanup()

    def connector_digests(self, request: DigestRequest) -> dict[str, WindowDigests] | None:
        """VERIFY PIPE: the receiver's digests (request type 29001, verify.py)."""
        return request_digests(self, request)

    def close_clients(self) -> None:
        self.closed = True
        self.policy.closing.set()
        self.clients.close()


class IoTDBThriftSyncSink(ThriftSinkBase):
    """The synchronous thrift sink: requests go out one at a time, on the transfer's thread
    (and on a timer thread for a batch whose delay expired)."""

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        self._lock = threading.RLock()
        self._wakeup = threading.Condition(self._lock)
        self._batch: PendingBatch | None = None
        self._sealed: deque[PendingBatch] = deque()
        self._flusher: BatchFlusher | None = None
        self._retry_at = 0.0
        self._failures = 0

    # ------------------------------------------------------------------ transfers
    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None] | None:
        if not self.options.batch_enable:
            with self._lock:
                self.with_failover(lambda client: self.send_tablet_now(event, client))
            return None
        with self._lock:
            lineage = lineage_of(event)
            if self._batch is not None and self._batch.lineage != lineage:
                self._seal()  # one lineage per batch
            self._send_sealed()  # an earlier batch first; raises while it cannot go
            batch = self._batch
            if batch is None:
                batch = self._batch = PendingBatch(lineage)
                self._start_flusher()
                self._wakeup.notify()
            batch.add(event.tablet)
            if batch.size_bytes >= self.options.batch_size_bytes:
                self._seal()
                try:
                    self._send_sealed()
                except PipeConnectionError as exc:
                    log.info("pipe %s: batch held for a retry: %s", self._pipe, exc)
            return (
                None if batch.future.done() and batch.future.exception() is None else batch.future
            )

    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> Future[None] | None:
        if self.options.format == "tablet":
            return super().connector_transfer_tsfile(event)
        with self._lock:
            self._seal()
            self._send_sealed()
            self.with_failover(lambda client: self.send_file_now(event, client))
        return None

    def connector_transfer_event(self, event: Event) -> Future[None] | None:
        if isinstance(event, HeartbeatEvent):
            self._flush_if_due(raise_errors=False)
            return None
        if isinstance(event, DeletionEvent):
            with self._lock:  # after every insert batched before it
                self._seal()
                self._send_sealed()
                self.with_failover(lambda client: self.send_deletion_now(event, client))
            return None
        if isinstance(event, SchemaEvent):
            with self._lock:  # after every insert batched before it
                self._seal()
                self._send_sealed()
                self.with_failover(lambda client: self.send_schema_now(event, client))
            return None
        return super().connector_transfer_event(event)

    def connector_flush(self) -> None:
        """The pipe has nothing more for this sink now: the open batch goes at once."""
        if self.options.batch_enable:
            self._flush_if_due(raise_errors=False, now=True)

    def connector_heartbeat(self) -> None:
        if not self.closed:
            with self._lock:
                was_down = not self.clients.alive()
                self.clients.connect()
                if was_down:
                    self._reconnected()

    def connector_handshake(self) -> None:
        super().connector_handshake()
        with self._lock:
            if self.clients.alive():
                self._reconnected()

    def _reconnected(self) -> None:
        """Connected again: held batches go at once (not after their back-off)."""
        self._retry_at = 0.0
        self._wakeup.notify_all()

    def connector_close(self) -> None:
        """Send what is batched (best effort, once), then close everything. A request hung
        on another thread is not waited for long: closing its socket unblocks it."""
        if not hasattr(self, "_lock"):
            return
        got = self._lock.acquire(timeout=1.0)
        try:
            self.closed = True
            if got:
                self._wakeup.notify_all()
                try:
                    self._seal()
                    if self._sealed and self.clients.alive():
                        self.policy.closing.set()  # no status retries now
                        self._send_sealed()
                except Exception as exc:
                    log.info("pipe %s: batched data not sent at close: %s", self._pipe, exc)
        finally:
            self.close_clients()
            if got:
                self._lock.release()
        if self._flusher is not None:
            self._flusher.join(5.0)
        if self._lock.acquire(timeout=5.0):  # the aborted request has let go by now
            try:
                self._seal()
                for batch in self._sealed:
                    if not batch.future.done():
                        batch.future.set_exception(SinkClosedError("the sink was closed"))
                self._sealed.clear()
            finally:
                self._lock.release()

    # ------------------------------------------------------------------ batches
    def _seal(self) -> None:
        if self._batch is not None:
            self._sealed.append(self._batch)
            self._batch = None

    def _send_sealed(self) -> None:
        """Send the sealed batches in order; raises `PipeConnectionError` (and keeps them)
        when the connection fails."""
        while self._sealed:
            batch = self._sealed[0]
            try:
                self.with_failover(lambda client, batch=batch: self.send_batch_now(batch, client))  # type: ignore[misc]
            except PipeConnectionError as exc:
                self._failures += 1
                self._retry_at = time.monotonic() + min(20.0, 0.2 * 2 ** min(self._failures, 7))
                self.outage.retry(f"{batch.describe()}: {exc}")
                raise
            except Exception as exc:
                self._sealed.popleft()
                batch.future.set_exception(exc)
                raise
            if self._failures:
                self.outage.recovered()
            self._failures = 0
            self._sealed.popleft()
            batch.future.set_result(None)

    def _flush_if_due(self, raise_errors: bool, now: bool = False) -> None:
        """Send the open batch once its delay has passed (`now`: at once) and the held ones
        once their back-off has ended."""
        with self._lock:
            batch = self._batch
            if batch is not None and (now or batch.due(self.options.batch_max_delay)):
                self._seal()
            if not self._sealed or time.monotonic() < self._retry_at:
                return
            try:
                if not self.clients.alive():
                    try:
                        self.clients.connect()
                    except (PipeConnectionError, ReceiverRefusedError) as exc:
                        self.outage.retry(f"a batch: {exc}")
                        raise
                self._send_sealed()
            except Exception as exc:
                if time.monotonic() >= self._retry_at:
                    self._failures += 1
                    backoff = min(20.0, 0.2 * 2 ** min(self._failures, 7))
                    self._retry_at = time.monotonic() + backoff
                if raise_errors:
                    raise
                if isinstance(exc, PipeConnectionError | ReceiverRefusedError):
                    log.info("pipe %s: batch held for a retry: %s", self._pipe, exc)
                else:
                    log.error("pipe %s: a batch failed: %s", self._pipe, exc)

    def _start_flusher(self) -> None:
        if self._flusher is None and self.options.batch_max_delay is not None:
            self._flusher = BatchFlusher(
                f"pipecore-batch-{self._pipe}",
                self._wakeup,
                self._next_due,
                lambda: self._flush_if_due(raise_errors=False),
                lambda: self.closed,
            )
            self._flusher.start()

    def _next_due(self) -> float:
        """When the flusher should act: a held batch when its back-off ends, the open batch
        when its delay has passed (caller holds `_lock`)."""
        if self._sealed:
            return self._retry_at
        if self._batch is not None and self.options.batch_max_delay is not None:
            return self._batch.started + self.options.batch_max_delay
        return time.monotonic() + 3600.0  # nothing batched: a new batch notifies `_wakeup`
