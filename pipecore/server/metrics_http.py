"""The node's HTTP endpoint for operators: ``/metrics`` (Prometheus), ``/health``, ``/ready``.

Off by default. As in IoTDB, ``metric_reporter_list`` containing ``PROMETHEUS`` turns it on,
on ``metric_prometheus_reporter_port`` (9091); pipecore binds
``metric_prometheus_reporter_address`` (127.0.0.1) — IoTDB binds every address. It is a node
service (the ``node_services`` hook of this module, registered through the ``pipecore`` entry
point ``metrics``), so it runs while the node serves (``pipecore serve``, ``Node.serve()``).

* ``/metrics`` — the Prometheus text format (or OpenMetrics when the scraper asks for it),
  written by the official ``prometheus_client`` library from the node's own
  ``CollectorRegistry``. `NodeCollector` reads the live figures when scraped — counters the
  runtime keeps as plain integers (`pipecore.observability`), the store's `stats()`, the
  receivers' totals — so nothing is paid per event for exporting. ``ProcessCollector`` adds
  CPU, memory and open files; plugins add theirs through the ``register_metrics`` hook.
* ``/health`` — 200 while the node is open (503 once it closes).
* ``/ready`` — 200 when the store is open and every RUNNING pipe runs with its sink
  connected (its last handshake succeeded); otherwise 503 with the reasons, one per line.

docs/operations.md lists every metric and its IoTDB counterpart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import choose_encoder

from .. import __version__
from ..hookspecs import hookimpl
from ..observability import KINDS, LATENCY_BUCKETS, MetricSection, PipeCounters, PipeRemaining
from ..pipe_catalog import PipeStatus

if TYPE_CHECKING:
    from .node import Node

__all__ = ["MetricsEndpoint", "NodeCollector", "metrics_endpoint", "node_registry", "readiness"]

log = logging.getLogger(__name__)

PIPE_LABELS = ["name", "creation_time"]  # IoTDB's tags of per-pipe metrics
RECEIVER_NAME = "pipeDataNodeReceiver"  # IoTDB's `name` tag of its receiver timers


class NodeCollector:
    """Every figure of one node, read when Prometheus scrapes (a ``prometheus_client``
    custom collector)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        if node.closed:
            return
        yield from self._node()
        yield from self._pipes()
        yield from self._store()
        yield from self._receivers()
        yield from _threads()

    # ------------------------------------------------------------------ node
    def _node(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "pipecore_node_info", "The node: version and cluster id", labels=["version", "cluster"]
        )
        info.add_metric([__version__, self.node.cluster_id], 1)
        yield info

    # ------------------------------------------------------------------ pipes
    def _pipes(self) -> Iterator[Metric]:
        manager = self.node.pipes
        infos = manager.list()
        counters = {c.name: c for c in manager.counters.all()}
        statuses = {"running": 0, "userStopped": 0, "exceptionStopped": 0}
        state = GaugeMetricFamily(
            "pipecore_pipe_state",
            "1 for the pipe's state (RUNNING or STOPPED), with the state as a label",
            labels=[*PIPE_LABELS, "state"],
        )
        for info in infos:
            labels = [info.name, str(info.creation_time)]
            state.add_metric([*labels, info.state], 1)
            if info.status == PipeStatus.RUNNING:
                statuses["running"] += 1
            elif info.stopped_by_runtime_exception:
                statuses["exceptionStopped"] += 1
            else:
                statuses["userStopped"] += 1
        task_status = GaugeMetricFamily(
            "pipe_task_status", "Pipes of this node by status (IoTDB's)", labels=["status"]
        )
        for status, count in statuses.items():
            task_status.add_metric([status], count)
        task_status.add_metric(["dropped"], len(manager._dropped))
        yield task_status
        yield state
        alive = [counters[i.name] for i in infos if i.name in counters]
        yield from _counter_families(alive)
        yield from self._running(infos)

    def _running(self, infos: list[Any]) -> Iterator[Metric]:
        manager = self.node.pipes
        families = {
            "events": GaugeMetricFamily(
                "pipe_datanode_remaining_event_count",
                "Events not yet committed: in flight plus what the source holds "
                "(SHOW PIPES' RemainingEventCount)",
                labels=PIPE_LABELS,
            ),
            "seconds": GaugeMetricFamily(
                "pipe_datanode_remaining_time",
                "Seconds to commit the remaining events at the recent rate "
                "(SHOW PIPES' EstimatedRemainingSeconds; absent while unknown)",
                labels=PIPE_LABELS,
            ),
            "points": GaugeMetricFamily(
                "pipecore_pipe_remaining_points",
                "Points not yet transferred, data still in memtables included (absent when the "
                "source cannot say)",
                labels=PIPE_LABELS,
            ),
            "bytes": GaugeMetricFamily(
                "pipecore_pipe_remaining_bytes",
                "Bytes not yet transferred (queued events' memory, files' sizes, memtable data)",
                labels=PIPE_LABELS,
            ),
            "lag": GaugeMetricFamily(
                "pipecore_pipe_lag_seconds",
                "Now minus the time the oldest uncommitted event entered the pipe",
                labels=PIPE_LABELS,
            ),
            "rate": GaugeMetricFamily(
                "pipecore_pipe_commit_rate",
                "Events committed per second recently (what the estimated time divides by)",
                labels=PIPE_LABELS,
            ),
            "connected": GaugeMetricFamily(
                "pipecore_pipe_sink_connected",
                "1 when the pipe's sink handshake succeeded and no reconnect is pending",
                labels=PIPE_LABELS,
            ),
        }
        for info in infos:
            task = manager.task(info.name)
            if task is None or task.stopping or not task.started:
                continue
            labels = [info.name, str(info.creation_time)]
            figures: PipeRemaining = task.remaining(with_data=True)
            families["events"].add_metric(labels, figures.events)
            if figures.seconds is not None:
                families["seconds"].add_metric(labels, figures.seconds)
            if figures.points is not None:
                families["points"].add_metric(labels, figures.points)
            if figures.bytes is not None:
                families["bytes"].add_metric(labels, figures.bytes)
            families["lag"].add_metric(labels, figures.lag_seconds)
            families["rate"].add_metric(labels, figures.events_per_second)
            connected = task.counters.sink_connected and not task.sink_subtask.handshake_due
            families["connected"].add_metric(labels, 1 if connected else 0)
        yield from families.values()

    # ------------------------------------------------------------------ store
    def _store(self) -> Iterator[Metric]:
        store = self.node.store
        if store is None or store.closed:
            return
        stats = store.stats()
        for name, help_text, value in (
            ("pipecore_store_wal_bytes", "Bytes appended to the WAL since the node opened",
             stats.wal_bytes),
            ("pipecore_store_wal_fsyncs", "fsyncs of WAL segments since the node opened",
             stats.wal_fsyncs),
            ("pipecore_store_flushes", "Memtable flushes since the node opened", stats.flushes),
            ("pipecore_store_flushed_files", "TsFiles sealed by flushes since the node opened",
             stats.flushed_files),
        ):  # fmt: skip
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], value)
            yield family
        for name, help_text, value in (
            ("pipecore_store_wal_segments", "WAL segment files now", stats.wal_segments),
            ("pipecore_store_memtable_bytes", "Bytes held by memtables (working and flushing)",
             stats.memtable_bytes),
            ("pipecore_store_memtable_points", "Points held by memtables",
             stats.memtable_points),
            ("pipecore_store_sealed_files", "Sealed and loaded TsFiles in the store",
             stats.sealed_files),
            ("pipecore_store_sealed_bytes", "Bytes of the store's TsFiles", stats.sealed_bytes),
        ):  # fmt: skip
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], value)
            yield gauge
        linked = GaugeMetricFamily(
            "pipe_linked_tsfile_count", "TsFiles pinned (hard-linked) for a pipe", labels=["name"]
        )
        pinned_bytes = GaugeMetricFamily(
            "pipecore_store_pinned_bytes", "Bytes of the TsFiles pinned for a pipe", labels=["name"]
        )
        for pipe, pinned in stats.pinned.items():
            linked.add_metric([pipe], pinned.files)
            pinned_bytes.add_metric([pipe], pinned.bytes)
        yield linked
        yield pinned_bytes

    # ------------------------------------------------------------------ receivers
    def _receivers(self) -> Iterator[Metric]:
        registry = self.node.receivers
        totals = registry.totals.snapshot()
        requests = SummaryMetricFamily(
            "pipe_datanode_receiver_seconds",
            "Requests the pipe receivers answered and the time they took, by request type "
            "(IoTDB's names) and transport",
            labels=["name", "type", "transport"],
        )
        for (transport, type_name), (count, seconds) in sorted(totals.requests.items()):
            requests.add_metric([RECEIVER_NAME, type_name, transport], int(count), seconds)
        yield requests
        failed = CounterMetricFamily(
            "pipecore_receiver_failed_requests",
            "Receiver requests answered with an error status, by IoTDB status code",
            labels=["type", "transport", "status"],
        )
        for (transport, type_name, code), count in sorted(totals.failed.items()):
            failed.add_metric([type_name, transport, str(code)], count)
        yield failed
        points = CounterMetricFamily(
            "pipecore_receiver_points", "Points the receivers wrote", labels=["transport"]
        )
        for transport, count in sorted(totals.points.items()):
            points.add_metric([transport], count)
        yield points
        files = CounterMetricFamily(
            "pipecore_receiver_files", "TsFiles the receivers loaded", labels=["transport"]
        )
        for transport, count in sorted(totals.files.items()):
            files.add_metric([transport], count)
        yield files
        refused = CounterMetricFamily(
            "pipecore_receiver_refused_handshakes",
            "Handshakes the receivers refused, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(totals.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        connections = GaugeMetricFamily(
            "pipecore_receiver_connections", "Senders connected now", labels=["transport"]
        )
        by_transport: dict[str, int] = {}
        for conn in registry.list():
            by_transport[conn.transport] = by_transport.get(conn.transport, 0) + 1
        for transport, count in sorted(by_transport.items()):
            connections.add_metric([transport], count)
        yield connections


def _counter_families(pipes: list[PipeCounters]) -> Iterator[Metric]:
    """The per-pipe counters (they only grow; kept across a pipe's restarts)."""
    iotdb_supply = {
        kind: CounterMetricFamily(
            f"pipe_extractor_{kind}_supply", f"{kind.capitalize()} events the source supplied",
            labels=PIPE_LABELS,
        )
        for kind in KINDS[:3]
    }  # fmt: skip
    iotdb_transfer = {
        kind: CounterMetricFamily(
            f"pipe_connector_{kind}_transfer", f"{kind.capitalize()} events the sink transferred",
            labels=PIPE_LABELS,
        )
        for kind in KINDS[:3]
    }  # fmt: skip
    received = CounterMetricFamily(
        "pipecore_pipe_received_events", "Events the source supplied, by kind",
        labels=[*PIPE_LABELS, "kind"],
    )  # fmt: skip
    transferred = CounterMetricFamily(
        "pipecore_pipe_transferred_events", "Events the sink transferred, by kind",
        labels=[*PIPE_LABELS, "kind"],
    )  # fmt: skip
    simple = {
        "received_points": CounterMetricFamily(
            "pipecore_pipe_received_points", "Points the source supplied", labels=PIPE_LABELS
        ),
        "received_bytes": CounterMetricFamily(
            "pipecore_pipe_received_bytes",
            "Bytes the source supplied (tablets' memory, files' sizes)",
            labels=PIPE_LABELS,
        ),
        "transferred_points": CounterMetricFamily(
            "pipecore_pipe_transferred_points", "Points the sink transferred", labels=PIPE_LABELS
        ),
        "transferred_bytes": CounterMetricFamily(
            "pipecore_pipe_transferred_bytes", "Bytes the sink transferred", labels=PIPE_LABELS
        ),
        "retries": CounterMetricFamily(
            "pipecore_pipe_retries", "Transfers retried after a connection error",
            labels=PIPE_LABELS,
        ),
        "restarts": CounterMetricFamily(
            "pipecore_pipe_restarts", "Automatic restarts after a runtime error",
            labels=PIPE_LABELS,
        ),
    }  # fmt: skip
    errors = CounterMetricFamily(
        "pipecore_pipe_errors",
        "Failed transfers, handshakes and plugin calls, by IoTDB status code (or connection, "
        "timeout, plugin)",
        labels=[*PIPE_LABELS, "status"],
    )
    latency = HistogramMetricFamily(
        "pipecore_pipe_transfer_latency_seconds",
        "Time from handing an event to the sink until it was done",
        labels=PIPE_LABELS,
    )
    for c in pipes:
        labels = [c.name, str(c.creation_time)]
        for i, kind in enumerate(KINDS):
            if i < 3:
                iotdb_supply[kind].add_metric(labels, c.received[i])
                iotdb_transfer[kind].add_metric(labels, c.transferred[i])
            received.add_metric([*labels, kind], c.received[i])
            transferred.add_metric([*labels, kind], c.transferred[i])
        for attr, family in simple.items():
            family.add_metric(labels, getattr(c, attr))
        for status, count in sorted(c.errors.items()):
            errors.add_metric([*labels, status], count)
        counts, seconds, _ = c.latency()
        buckets, total = [], 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
            total += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
        latency.add_metric(labels, buckets, seconds)
    yield from iotdb_supply.values()
    yield from iotdb_transfer.values()
    yield received
    yield transferred
    yield from simple.values()
    yield errors
    yield latency


def _threads() -> Iterator[Metric]:
    """The process's threads (what ProcessCollector leaves out): the operating system's count
    from /proc when there is one, and Python's."""
    gauge = GaugeMetricFamily("pipecore_process_threads", "Threads of the process", labels=["kind"])
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                gauge.add_metric(["os"], int(line.split()[1]))
    except OSError:
        pass
    gauge.add_metric(["python"], threading.active_count())
    yield gauge


def node_registry(node: Node) -> CollectorRegistry:
    """A fresh registry with the node's collector, the process collector and every plugin's
    ``register_metrics`` contributions."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(NodeCollector(node))
    ProcessCollector(registry=registry)
    node.registry.pm.hook.register_metrics(registry=registry, node=node)
    return registry


# ---------------------------------------------------------------------------------- readiness
def readiness(node: Node) -> list[str]:
    """Why the node is not ready (empty when it is): the store must be open and every RUNNING
    pipe running with its sink connected."""
    problems: list[str] = []
    if node.closed:
        return ["the node is closed"]
    store = node.store
    if store is None or store.closed:
        problems.append("the store is not open")
    for info in node.pipes.list():
        if info.status != PipeStatus.RUNNING:
            continue
        task = node.pipes.task(info.name)
        if task is None or task.stopping or not task.started:
            problems.append(f"pipe {info.name} is RUNNING but its runtime is not")
        elif task.sink_subtask.handshake_due or not task.counters.sink_connected:
            problems.append(f"pipe {info.name}: its sink is not connected (retrying)")
    return problems


# ---------------------------------------------------------------------------------- HTTP
class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        node = self.server.node
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            try:
                body = encoder(self.server.registry)
            except Exception as exc:  # a plugin collector failing must not kill the endpoint
                log.exception("metrics scrape failed")
                self._reply(500, f"scrape failed: {exc}\n")
                return
            self._reply(200, body, content_type)
        elif path == "/health":
            if node.closed:
                self._reply(503, "closed\n")
            else:
                self._reply(200, "OK\n")
        elif path == "/ready":
            problems = readiness(node)
            if problems:
                self._reply(503, "".join(p + "\n" for p in problems))
            else:
                self._reply(200, "ready\n")
        else:
            self._reply(404, "not found: try /metrics, /health or /ready\n")

    def _reply(
        self, code: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics endpoint %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    node: Node
    registry: CollectorRegistry


class MetricsEndpoint:
    """The node service serving ``/metrics``, ``/health`` and ``/ready``."""

    name = "metrics"

    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port) once started."""
        if self._server is None:
            return self.host, self.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        registry = node_registry(self.node)
        server = _Server((self.host, self.port), _Handler)
        server.node = self.node
        server.registry = registry
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="pipecore-metrics",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        log.info("metrics endpoint on %s/metrics", self.url)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def metrics_endpoint(node: Node) -> MetricsEndpoint | None:
    """The node's running metrics endpoint, or None (off, or the node is not serving)."""
    for service in getattr(node, "_services", ()):
        if isinstance(service, MetricsEndpoint):
            return service
    return None


@hookimpl
def node_services(node: Node) -> list[Any] | None:
    section = node.config.section(MetricSection)
    if not section.prometheus_enabled:
        return None
    return [
        MetricsEndpoint(
            node,
            section.metric_prometheus_reporter_address,
            section.metric_prometheus_reporter_port,
        )
    ]
