"""What a node counts about its pipes and receivers, for its metrics and SHOW PIPES.

The hot path pays only for plain integer additions: the runtime calls
`PipeCounters.supplied` for every event a source supplies and `PipeCounters.transferred` for
every event a sink finishes; receivers call `ReceiverTotals.request`. Nothing is formatted,
locked or exported there. Everything else — remaining events, points and bytes, lag,
estimated time — is computed when someone asks (a Prometheus scrape, SHOW PIPES, the watch
mode), by `remaining_figures`, the one function all of them use.

This module is the kernel's half; the HTTP endpoint (`pipecore.server.metrics_http`) reads it. Its
configuration keys are IoTDB's (`MetricSection`): ``metric_reporter_list`` containing
``PROMETHEUS`` turns the endpoint on, on ``metric_prometheus_reporter_port`` (9091).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from .config import config_section
from .events import HeartbeatEvent, TabletInsertionEvent, TsFileInsertionEvent

if TYPE_CHECKING:
    from .runtime import PipeTask

__all__ = [
    "LATENCY_BUCKETS",
    "MetricSection",
    "PipeCounterSet",
    "PipeCounters",
    "PipeRemaining",
    "ReceiverTotals",
    "SourceBacklog",
    "event_kind",
    "remaining_figures",
]

#: Upper bounds (seconds) of the transfer latency histogram's buckets (+Inf is implied).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
)  # fmt: skip

_BOUNDS = np.asarray(LATENCY_BUCKETS, dtype=np.float64)
#: latencies are folded into the histogram's buckets every this many transfers
_FOLD = 4096

#: Event kinds, as indexes of the per-kind counters and as label values.
TABLET, TSFILE, HEARTBEAT, OTHER = 0, 1, 2, 3
KINDS = ("tablet", "tsfile", "heartbeat", "other")

_REPORTERS = ("JMX", "PROMETHEUS", "IOTDB")


# ---------------------------------------------------------------------------------- config
def _reporters(inst: object, attribute: attrs.Attribute, value: str) -> None:
    for name in value.split(","):
        if name.strip() and name.strip().upper() not in _REPORTERS:
            raise ValueError(
                f"{attribute.name} must list reporters among {list(_REPORTERS)}, got {value!r}"
            )


def _port(inst: object, attribute: attrs.Attribute, value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be a port number 0..65535, got {value}")


@config_section("metric")
@attrs.frozen
class MetricSection:
    """IoTDB's metric keys (``iotdb-system.properties``) and where pipecore's endpoint binds."""

    metric_reporter_list: str = attrs.field(
        default="",
        validator=_reporters,
        metadata={
            "doc": "comma-separated reporters; PROMETHEUS serves /metrics (JMX, IOTDB: no effect)",
            "aliases": ("dn_metric_reporter_list",),
        },
    )
    metric_prometheus_reporter_port: int = attrs.field(
        default=9091,
        validator=_port,
        metadata={
            "doc": "port of /metrics, /health and /ready (0 picks a free one)",
            "aliases": ("dn_metric_prometheus_reporter_port",),
        },
    )
    metric_prometheus_reporter_address: str = attrs.field(
        default="127.0.0.1",
        metadata={"doc": "address the metrics endpoint binds (IoTDB binds every address)"},
    )

    @property
    def prometheus_enabled(self) -> bool:
        return "PROMETHEUS" in {n.strip().upper() for n in self.metric_reporter_list.split(",")}


# ---------------------------------------------------------------------------------- events
_KIND_OF_TYPE: dict[type, int] = {
    TabletInsertionEvent: TABLET,
    TsFileInsertionEvent: TSFILE,
    HeartbeatEvent: HEARTBEAT,
}


def event_kind(cls: type) -> int:
    """TABLET, TSFILE, HEARTBEAT or OTHER for an event class (subclasses included; cached)."""
    kind = _KIND_OF_TYPE.get(cls)
    if kind is None:
        if issubclass(cls, TabletInsertionEvent):
            kind = TABLET
        elif issubclass(cls, TsFileInsertionEvent):
            kind = TSFILE
        elif issubclass(cls, HeartbeatEvent):
            kind = HEARTBEAT
        else:
            kind = OTHER
        _KIND_OF_TYPE[cls] = kind
    return kind


def _file_size(event: Any) -> int:
    with contextlib.suppress(OSError, AttributeError, TypeError):
        return int(os.path.getsize(event.path))
    return 0


def event_points_and_bytes(event: Any, kind: int) -> tuple[int, int]:
    """(points, bytes) an event carries: a tablet's non-null values and its memory size; a
    TsFile's recorded point count (``event.points`` when the source set it) and file size."""
    if kind == TABLET:
        return event.point_count, event.nbytes
    if kind == TSFILE:
        return int(getattr(event, "points", 0) or 0), _file_size(event)
    return 0, 0


# ---------------------------------------------------------------------------------- pipes
class PipeCounters:
    """The counters of one pipe, kept across its restarts (they only grow, as Prometheus
    counters must). Written by the pipe's subtasks without a lock — each field has one writer
    thread at a time, and a scrape reading a value one event old is fine."""

    __slots__ = (
        "_latencies",
        "_latency_lock",
        "creation_time",
        "disconnected_since",
        "errors",
        "latency_buckets",
        "latency_count",
        "latency_sum",
        "name",
        "received",
        "received_bytes",
        "received_points",
        "restarts",
        "retries",
        "transferred",
        "transferred_bytes",
        "transferred_points",
    )

    def __init__(self, name: str, creation_time: int) -> None:
        self.name = name
        self.creation_time = creation_time
        self.received = [0, 0, 0, 0]  # by kind: events the source supplied
        self.received_points = 0
        self.received_bytes = 0
        self.transferred = [0, 0, 0, 0]  # by kind: events the sink finished
        self.transferred_points = 0
        self.transferred_bytes = 0
        # transfer latencies: appended per event (a list append), folded into the buckets with
        # numpy every `_FOLD` events and when read
        self._latencies: list[float] = []
        self._latency_lock = threading.Lock()
        self.latency_buckets = np.zeros(len(LATENCY_BUCKETS) + 1, dtype=np.int64)  # last: +Inf
        self.latency_sum = 0.0
        self.latency_count = 0
        self.retries = 0
        self.restarts = 0
        self.errors: dict[str, int] = {}
        #: monotonic time the sink lost its target (None: connected). The runtime sets it on
        #: a connection error; a sink that retries by itself reports through `connection_lost`
        self.disconnected_since: float | None = None

    def supplied(self, event: Any) -> None:
        """The source supplied `event` (processor subtask)."""
        if type(event) is TabletInsertionEvent:  # the hot case first
            self.received[TABLET] += 1
            self.received_points += event.point_count  # cached on the event
            self.received_bytes += event.nbytes  # cached too; the queue needs it anyway
            return
        kind = event_kind(type(event))
        self.received[kind] += 1
        if kind in (TABLET, TSFILE):
            points, size = event_points_and_bytes(event, kind)
            self.received_points += points
            self.received_bytes += size

    def transferred_event(self, event: Any, seconds: float | None) -> None:
        """The sink finished `event`; `seconds` its transfer took (None: not measured)."""
        if seconds is not None:
            latencies = self._latencies
            latencies.append(seconds)
            if len(latencies) >= _FOLD:
                self._fold()
        if type(event) is TabletInsertionEvent:
            self.transferred[TABLET] += 1
            self.transferred_points += event.point_count
            self.transferred_bytes += event.nbytes
            return
        kind = event_kind(type(event))
        self.transferred[kind] += 1
        if kind in (TABLET, TSFILE):
            points, size = event_points_and_bytes(event, kind)
            self.transferred_points += points
            self.transferred_bytes += size

    def _fold(self) -> None:
        with self._latency_lock:
            pending, self._latencies = self._latencies, []
            self._add_latencies(pending)

    def _add_latencies(self, values: list[float]) -> None:
        if values:
            array = np.asarray(values, dtype=np.float64)
            index = np.searchsorted(_BOUNDS, array, side="left")
            self.latency_buckets += np.bincount(index, minlength=len(_BOUNDS) + 1)
            self.latency_sum += float(array.sum())
            self.latency_count += len(values)

    def latency(self) -> tuple[list[int], float, int]:
        """(bucket counts — the last is +Inf, not cumulative —, sum, count) of the transfer
        latencies so far (folds what the hot path appended)."""
        self._fold()
        with self._latency_lock:
            return [int(v) for v in self.latency_buckets], self.latency_sum, self.latency_count

    def connection_lost(self, exc: BaseException) -> None:
        """A sink could not reach its target and will retry: an error, a retry, and the pipe's
        sink counts as not connected until `connection_ok`. For sinks that retry themselves
        (``configuration.counters``); the runtime calls it for errors it retries."""
        self.error(exc)
        self.retries += 1
        if self.disconnected_since is None:
            self.disconnected_since = time.monotonic()

    def connection_ok(self) -> None:
        """The sink reached its target again."""
        self.disconnected_since = None

    @property
    def sink_connected(self) -> bool:
        return self.disconnected_since is None

    def error(self, exc: BaseException | None, code: str | None = None) -> None:
        """A transfer or handshake failed: counted by IoTDB status code when the exception
        carries one (``exc.status.code``, also on its causes), else by a short category."""
        key = code or error_code(exc)
        self.errors[key] = self.errors.get(key, 0) + 1


def error_code(exc: BaseException | None) -> str:
    """The label an error is counted under: IoTDB's status code as a string when the error (or
    one of its causes) carries a status, else ``connection``, ``timeout`` or ``plugin``."""
    seen = 0
    current = exc
    while current is not None and seen < 8:
        status = getattr(current, "status", None)
        code = getattr(status, "code", None)
        if isinstance(code, int):
            return str(code)
        current = current.__cause__ or current.__context__
        seen += 1
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection"
    return "plugin"


class PipeCounterSet:
    """The node's `PipeCounters`, one per pipe (by name and creation time: a pipe dropped and
    created again starts from zero)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipes: dict[str, PipeCounters] = {}

    def for_pipe(self, name: str, creation_time: int) -> PipeCounters:
        with self._lock:
            counters = self._pipes.get(name)
            if counters is None or counters.creation_time != creation_time:
                counters = self._pipes[name] = PipeCounters(name, creation_time)
            return counters

    def get(self, name: str) -> PipeCounters | None:
        with self._lock:
            return self._pipes.get(name)

    def drop(self, name: str) -> None:
        with self._lock:
            self._pipes.pop(name, None)

    def all(self) -> list[PipeCounters]:
        with self._lock:
            return [self._pipes[n] for n in sorted(self._pipes)]


@attrs.frozen
class SourceBacklog:
    """What a source still holds or knows is coming (``extractor_backlog``): `events` (as
    ``extractor_remaining_events`` counts them), `points` and `bytes` — None when unknown.
    Data still in the store's memtables that the source will send counts here."""

    events: int | None = None
    points: int | None = None
    bytes: int | None = None


@attrs.frozen
class PipeRemaining:
    """A running pipe's backlog now — what SHOW PIPES, the metrics and the watch mode show.

    * `events` — not yet committed: in flight in the runtime plus what the source holds
      (SHOW PIPES' RemainingEventCount; IoTDB's ``pipe_datanode_remaining_event_count``).
    * `points`, `bytes` — the same backlog in points and bytes (queued, pending and retried
      events plus the source's backlog, memtable data included); None when the source does
      not say.
    * `lag_seconds` — now minus the time the oldest uncommitted event entered the pipe (0.0
      when nothing is in flight).
    * `events_per_second` — the recent commit rate; `seconds` — `events` at that rate
      (EstimatedRemainingSeconds; 0.0 when nothing remains, None when no rate is known yet).
    * `in_flight` / `source_events` — the two parts of `events` (None: the source cannot say).
    """

    events: int
    points: int | None
    bytes: int | None
    lag_seconds: float
    events_per_second: float
    seconds: float | None
    in_flight: int = 0
    source_events: int | None = None


#: the window of the commit rate: samples older than this are ignored
RATE_WINDOW_SECONDS = 30.0


def commit_rate(samples: Iterable[tuple[float, int]], now: float, count: int) -> float:
    """Inputs committed per second since the oldest sample of the last `RATE_WINDOW_SECONDS`
    (0.0 with less than 50 ms of history)."""
    oldest = next((s for s in samples if now - s[0] <= RATE_WINDOW_SECONDS), None)
    if oldest is None or now - oldest[0] <= 0.05:
        return 0.0
    return max(0.0, (count - oldest[1]) / (now - oldest[0]))


def remaining_figures(
    task: PipeTask,
    source_remaining: int | None,
    backlog: SourceBacklog | None,
    *,
    with_data: bool = True,
) -> PipeRemaining:
    """The backlog of a running pipe: the one computation behind SHOW PIPES'
    RemainingEventCount / EstimatedRemainingSeconds, the ``pipe_datanode_remaining_*`` and
    ``pipecore_pipe_remaining_*`` metrics and ``pipecore pipes --watch``.

    `source_remaining` is what ``extractor_remaining_events`` said, `backlog` what
    ``extractor_backlog`` said (either may be None). Without `with_data` points and bytes
    are not measured (None): what SHOW PIPES and sources asking for facts need is cheaper."""
    now = time.monotonic()
    committer = task.committer
    in_flight = committer.in_flight
    events = in_flight + (source_remaining or 0)
    points: int | None = None
    size: int | None = None
    if with_data:
        queued_points = 0
        for event in [*task.queue.snapshot(), *task.sink_subtask.abandoned_events()]:
            kind = event_kind(type(event))
            if kind in (TABLET, TSFILE):
                queued_points += event_points_and_bytes(event, kind)[0]
        queued_bytes = task.queue.nbytes + task.sink_subtask.pending_bytes
        points, size = queued_points, queued_bytes
        if backlog is not None:
            points = None if backlog.points is None else queued_points + backlog.points
            size = None if backlog.bytes is None else queued_bytes + backlog.bytes
        elif source_remaining:
            points = size = None  # the source holds something it does not measure
    oldest = committer.oldest_begin
    lag = max(0.0, now - oldest) if oldest is not None else 0.0
    rate = commit_rate(task.rate_samples(now), now, committer.committed_count)
    if events == 0:
        seconds: float | None = 0.0
    elif rate <= 0.0:
        seconds = None
    else:
        seconds = events / rate
    return PipeRemaining(events, points, size, lag, rate, seconds, in_flight, source_remaining)


# ---------------------------------------------------------------------------------- receivers
class ReceiverTotals:
    """What a node's pipe receivers did since it opened: requests by transport, request type
    and outcome (with the time they took), points written, files loaded, refused handshakes
    by reason. Kept by the node's `ReceiverRegistry` (``registry.totals``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (transport, type name) -> [count, seconds]
        self.requests: dict[tuple[str, str], list[float]] = {}
        #: (transport, type name, status code) -> count, for requests answered with an error
        self.failed: dict[tuple[str, str, int], int] = {}
        self.points: dict[str, int] = {}
        self.files: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    def request(self, transport: str, type_name: str, code: int, seconds: float) -> None:
        with self._lock:
            entry = self.requests.get((transport, type_name))
            if entry is None:
                entry = self.requests[(transport, type_name)] = [0, 0.0]
            entry[0] += 1
            entry[1] += seconds
            if code != 200:
                key = (transport, type_name, code)
                self.failed[key] = self.failed.get(key, 0) + 1

    def applied(self, transport: str, points: int, files: int) -> None:
        with self._lock:
            if points:
                self.points[transport] = self.points.get(transport, 0) + points
            if files:
                self.files[transport] = self.files.get(transport, 0) + files

    def refuse(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] = self.refused.get(reason, 0) + 1

    def snapshot(self) -> ReceiverTotals:
        copy = ReceiverTotals()
        with self._lock:
            copy.requests = {k: list(v) for k, v in self.requests.items()}
            copy.failed = dict(self.failed)
            copy.points = dict(self.points)
            copy.files = dict(self.files)
            copy.refused = dict(self.refused)
        return copy


def handshake_refusal_reason(message: str) -> str:
    """A short, bounded label for why a handshake was refused (metrics must not carry free
    text): ``white_list``, ``same_cluster``, ``no_cluster_id``, ``precision``, ``login``."""
    text = message.lower()
    rules: list[tuple[str, Callable[[str], bool]]] = [
        ("white_list", lambda t: "white_list" in t or "white list" in t),
        ("same_cluster", lambda t: "same cluster" in t),
        ("no_cluster_id", lambda t: "clusterid" in t),
        ("precision", lambda t: "precision" in t),
        ("login", lambda t: "password" in t or "user" in t or "login" in t),
    ]
    for reason, test in rules:
        if test(text):
            return reason
    return "other"
