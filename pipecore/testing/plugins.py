"""Plugins for tests, benchmarks and the demo (not registered by default).

Register them on a node with ``Node.open(dir, plugins=[pipecore.testing.plugins])``:

* ``generated-source`` — generates ``points`` DOUBLE points (``devices`` devices
  ``root.generated.d<i>``, ``measurements`` series ``s<j>`` each, ``rows-per-tablet`` rows per
  tablet event, times ``start-time + k * interval``, value of ``s<j>`` = time × (j + 1)). It
  attaches its position as the event progress and resumes from the committed progress.
* ``counting-sink`` — counts events, tablets, points and heartbeats under the name given by
  ``counter`` (default: the pipe name); read them with `counts`. ``delay-ms`` slows each
  tablet transfer down.
* ``collecting-sink`` — keeps every tablet under ``collector`` (default: the pipe name); read
  them with `collected`. ``delay-ms`` as for ``counting-sink``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType

from ..events import Event, HeartbeatEvent, TabletInsertionEvent
from ..hookspecs import hookimpl
from ..parameters import PipeParameters, PipeParameterValidator
from ..plugin import Connector, Extractor, RuntimeConfiguration

__all__ = [
    "CollectingSink",
    "CountingSink",
    "Counts",
    "GeneratedSource",
    "collected",
    "counts",
    "reset",
]

_S = ["source.", "extractor.", ""]
_K = ["sink.", "connector.", ""]


def _keys(prefixes: list[str], key: str) -> list[str]:
    return [p + key for p in prefixes]


class GeneratedSource(Extractor):
    def extractor_validate(self, validator: PipeParameterValidator) -> None:
        p = validator.parameters
        points = p.get_int_or_default(_keys(_S, "points"), 1_000_000)
        measurements = p.get_int_or_default(_keys(_S, "measurements"), 1)
        validator.validate(lambda: points >= 0, f"points must be >= 0, got {points}", key="points")
        validator.validate(
            lambda: measurements >= 1 and points % measurements == 0,
            f"points ({points}) must be a multiple of measurements ({measurements})",
            key="measurements",
        )
        for key in ("devices", "rows-per-tablet", "interval"):
            value = p.get_int_or_default(_keys(_S, key), 1)
            validator.validate(lambda v=value: v >= 1, f"{key} must be >= 1, got {value}", key=key)

    def extractor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().extractor_customize(parameters, configuration)
        get = parameters.get_int_or_default
        self.points = get(_keys(_S, "points"), 1_000_000)
        self.devices = get(_keys(_S, "devices"), 1)
        self.measurements = get(_keys(_S, "measurements"), 1)
        self.rows_per_tablet = get(_keys(_S, "rows-per-tablet"), 1000)
        self.start_time = get(_keys(_S, "start-time"), 0)
        self.interval = get(_keys(_S, "interval"), 1)
        self.total_rows = self.points // self.measurements
        self.schemas = [
            MeasurementSchema(f"s{j}", TSDataType.DOUBLE) for j in range(self.measurements)
        ]
        progress = configuration.progress or {}
        self.rows_done = int(progress.get("rows", 0))
        self.tablets_done = int(progress.get("tablets", 0))
        self.device_rows = list(progress.get("device_rows", [0] * self.devices))

    def extractor_supply(self) -> Event | None:
        left = self.total_rows - self.rows_done
        if left <= 0:
            return None
        device = self.tablets_done % self.devices
        n = min(self.rows_per_tablet, left)
        first = self.device_rows[device]
        times = self.start_time + (np.arange(first, first + n, dtype=np.int64) * self.interval)
        base = times.astype(np.float64)
        columns = [base * (j + 1) for j in range(self.measurements)]
        tablet = Tablet(f"root.generated.d{device}", self.schemas, times, columns)
        self.device_rows[device] = first + n
        self.rows_done += n
        self.tablets_done += 1
        progress = {
            "rows": self.rows_done,
            "tablets": self.tablets_done,
            "device_rows": list(self.device_rows),
        }
        return TabletInsertionEvent(tablet, progress=progress)

    def extractor_remaining_events(self) -> int | None:
        left = self.total_rows - self.rows_done
        return -(-left // self.rows_per_tablet) if left > 0 else 0


@attrs.define
class Counts:
    events: int = 0
    tablets: int = 0
    points: int = 0
    rows: int = 0
    heartbeats: int = 0
    tsfiles: int = 0
    others: int = 0
    handshakes: int = 0
    closed: int = 0
    last_commit_ids: list[int] = attrs.field(factory=list)


_LOCK = threading.Lock()
_COUNTS: dict[str, Counts] = {}
_COLLECTED: dict[str, list[Tablet]] = {}


def counts(name: str) -> Counts:
    """The counts of ``counting-sink``s with ``counter=name`` (a live object)."""
    with _LOCK:
        return _COUNTS.setdefault(name, Counts())


def collected(name: str) -> list[Tablet]:
    """The tablets ``collecting-sink``s with ``collector=name`` received, in order."""
    with _LOCK:
        return _COLLECTED.setdefault(name, [])


def reset(name: str) -> None:
    with _LOCK:
        _COUNTS.pop(name, None)
        _COLLECTED.pop(name, None)


class CountingSink(Connector):
    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        name = parameters.get_string_or_default(_keys(_K, "counter"), configuration.pipe_name)
        self.counts = counts(name)
        self.delay = parameters.get_float_or_default(_keys(_K, "delay-ms"), 0.0) / 1000.0

    def connector_handshake(self) -> None:
        self.counts.handshakes += 1

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if self.delay:
            time.sleep(self.delay)
        c = self.counts
        c.events += 1
        c.tablets += 1
        c.rows += event.tablet.row_count
        c.points += event.tablet.point_count()
        if event.commit_id is not None:
            c.last_commit_ids = [*c.last_commit_ids[-99:], event.commit_id]

    def connector_transfer_event(self, event: Event) -> None:
        c = self.counts
        c.events += 1
        if isinstance(event, HeartbeatEvent):
            c.heartbeats += 1
        else:
            c.others += 1

    def connector_close(self) -> None:
        if hasattr(self, "counts"):
            self.counts.closed += 1


class CollectingSink(Connector):
    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        name = parameters.get_string_or_default(_keys(_K, "collector"), configuration.pipe_name)
        self.tablets = collected(name)
        self.delay = parameters.get_float_or_default(_keys(_K, "delay-ms"), 0.0) / 1000.0

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if self.delay:
            time.sleep(self.delay)
        self.tablets.append(event.tablet)


@hookimpl
def register_pipe_plugins(register: Callable[..., Any]) -> None:
    register("source", "generated-source", GeneratedSource)
    register("sink", "counting-sink", CountingSink)
    register("sink", "collecting-sink", CollectingSink)
