"""Helpers of the iotdb-source tests (also imported by the kill-test child process).

* `open_node` — a `Node` (with its store) and the test sinks below.
* `RecordingSink` (``recording-sink``) — records every point it receives under the name
  given by ``sink.name``; with ``sink.file`` it appends each tablet to a file (JSON lines)
  *before* returning, so what it acknowledged survives a SIGKILL; ``sink.delay-ms`` slows
  every transfer down; with ``sink.gate`` every file transfer waits until the test opens the
  gate of that name (`gate`).
* `StoreWriterSink` (``store-writer-sink``) — writes what it receives into another node's
  store the way a pipe receiver does: tablets with ``Origin.pipe(sender cluster id)``, files
  loaded with that origin.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pipecore import (
    Connector,
    DeletionEvent,
    Event,
    Node,
    Origin,
    TabletInsertionEvent,
    TsFileInsertionEvent,
    hookimpl,
)
from pipecore_storage import Store, Tablet

Point = tuple[str, int, Any]

RECORDS: dict[str, Recording] = {}
TARGETS: dict[str, Store] = {}
GATES: dict[str, threading.Event] = {}
_LOCK = threading.Lock()


class Recording:
    """What one recording sink received."""

    def __init__(self) -> None:
        self.points: dict[tuple[str, int], Any] = {}
        self.tablet_events = 0
        self.file_events = 0
        self.split_files = 0
        self.deletions: list[tuple[str, int, int]] = []
        self.mods: dict[str, str | None] = {}  # file name -> the .mods sent with it
        self.transfers = 0
        self.received_points = 0
        self.at_gate = 0  # file transfers that reached the gate (sink.gate)

    def add_tablet(self, tablet: Tablet) -> None:
        for key, value in tablet_points(tablet):
            self.points[key] = value
            self.received_points += 1

    def point_set(self) -> set[Point]:
        return {(s, t, v) for (s, t), v in self.points.items()}


def recording(name: str) -> Recording:
    with _LOCK:
        return RECORDS.setdefault(name, Recording())


def gate(name: str) -> threading.Event:
    """The gate ``sink.gate=name`` file transfers wait on (closed until the test sets it)."""
    with _LOCK:
        return GATES.setdefault(name, threading.Event())


def tablet_points(tablet: Tablet) -> Iterable[tuple[tuple[str, int], Any]]:
    times = tablet.timestamps.tolist()
    for i, schema in enumerate(tablet.schemas):
        series = f"{tablet.device}.{schema.name}"
        values = tablet.columns[i].tolist()
        mask = tablet.null_masks[i]
        if mask is None:
            for t, v in zip(times, values, strict=True):
                yield (series, t), v
        else:
            for t, v, null in zip(times, values, mask.tolist(), strict=True):
                if not null:
                    yield (series, t), v


def store_points(store: Store, pattern: str = "root.**") -> set[Point]:
    """Every point of the store as (series, time, value)."""
    result = store.query(pattern)
    out: set[Point] = set()
    times = result.timestamps.tolist()
    for i, column in enumerate(result.columns):
        values = result.values[i].tolist()
        nulls = result.null_masks[i].tolist()
        out.update(
            (column, t, v) for t, v, null in zip(times, values, nulls, strict=True) if not null
        )
    return out


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


def _param(plugin: Connector, key: str, default: str = "") -> str:
    return plugin.parameters.get_string_or_default([f"sink.{key}", f"connector.{key}"], default)


class RecordingSink(Connector):
    def connector_customize(self, parameters, configuration) -> None:
        super().connector_customize(parameters, configuration)
        self.record = recording(_param(self, "name", configuration.pipe_name))
        self.delay = float(_param(self, "delay-ms", "0")) / 1000.0
        name = _param(self, "gate")
        self.gate = gate(name) if name else None
        path = _param(self, "file")
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else None

    def _persist(self, tablet: Tablet) -> None:
        if self.fd is None:
            return
        line = {
            "d": tablet.device,
            "m": tablet.measurements,
            "t": tablet.timestamps.tolist(),
            "v": [c.tolist() for c in tablet.columns],
            "n": [None if m is None else m.tolist() for m in tablet.null_masks],
        }
        data = (json.dumps(line) + "\n").encode()
        written = 0
        while written < len(data):
            written += os.write(self.fd, data[written:])

    def _take(self, tablet: Tablet) -> None:
        self._persist(tablet)
        self.record.add_tablet(tablet)

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if self.delay:
            time.sleep(self.delay)
        self.record.tablet_events += 1  # counted first: once the points show, so do these
        self.record.transfers += 1
        self._take(event.tablet)

    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.gate is not None:
            self.record.at_gate += 1
            if not self.gate.wait(60):
                raise TimeoutError("the test never opened the gate")
        self.record.file_events += 1  # counted first: once the points show, so do these
        self.record.transfers += 1
        mods = getattr(event, "mods_path", None)
        self.record.mods[event.path.name] = None if mods is None else mods.read_text()
        for tablet_event in event.to_tablet_insertion_events():
            self._take(tablet_event.tablet)

    def connector_transfer_event(self, event: Event) -> None:
        if isinstance(event, DeletionEvent):
            self.record.deletions.append((event.path_pattern, event.start_time, event.end_time))
            for key in [k for k in self.record.points if _deleted(k, event)]:
                del self.record.points[key]

    def connector_close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _deleted(key: tuple[str, int], event: DeletionEvent) -> bool:
    from pipecore_storage.paths import parse_pattern, split_path

    series, t = key
    return event.start_time <= t <= event.end_time and parse_pattern(event.path_pattern).matches(
        split_path(series)
    )


def read_recording_file(path: Path) -> set[Point]:
    """The points a recording sink appended to `path` (a torn last line is ignored)."""
    points: dict[tuple[str, int], Any] = {}
    if not path.exists():
        return set()
    for raw in path.read_bytes().split(b"\n"):
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        for j, m in enumerate(line["m"]):
            series = f"{line['d']}.{m}"
            nulls = line["n"][j]
            for k, t in enumerate(line["t"]):
                if nulls is None or not nulls[k]:
                    points[(series, t)] = line["v"][j][k]
    return {(s, t, v) for (s, t), v in points.items()}


class StoreWriterSink(Connector):
    """Writes into the store registered under ``sink.target`` as a receiver would."""

    def connector_customize(self, parameters, configuration) -> None:
        super().connector_customize(parameters, configuration)
        self.target = TARGETS[_param(self, "target")]
        self.origin = Origin.pipe(configuration.cluster_id)
        self.record = recording(_param(self, "name", configuration.pipe_name))

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        self.target.insert_tablet(event.tablet, origin=self.origin)
        self.record.tablet_events += 1
        self.record.received_points += event.tablet.point_count()

    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> None:
        self.target.load_tsfile(event.path, origin=self.origin)
        self.record.file_events += 1
        self.record.received_points += sum(
            e.tablet.point_count() for e in event.to_tablet_insertion_events()
        )


class SourceTestPlugins:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("sink", "recording-sink", RecordingSink)
        register("sink", "store-writer-sink", StoreWriterSink)


PLUGINS = SourceTestPlugins()


def open_node(path: Path, store_config: dict[str, Any] | None = None, **config: Any) -> Node:
    """A node (its store in ``<path>/store``) with fast progress saves and the test sinks;
    `store_config` holds store keys (``wal_mode``, thresholds), which are node keys."""
    base = {
        "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.05,
        "pipe_auto_restart_enabled": False,
        **(store_config or {}),
    }
    base.update(config)
    return Node.open(path, base, plugins=[PLUGINS])


def int_tablet(device: str, times: Iterable[int], measurements: tuple[str, ...] = ("s1",)):
    """A DOUBLE tablet whose value of measurement j at time t is t * (j + 1) + 0.5."""
    from pipecore_storage import MeasurementSchema

    t = np.asarray(list(times), np.int64)
    schemas = [MeasurementSchema(m, "DOUBLE") for m in measurements]
    cols = [t.astype(np.float64) * (j + 1) + 0.5 for j in range(len(measurements))]
    return Tablet(device, schemas, t, cols)
