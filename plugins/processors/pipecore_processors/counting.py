"""``count-point-processor`` and ``throwing-exception-processor`` (reference §8.4).

``count-point-processor`` (IoTDB's ``TwoStageCountProcessor``): counts the points that pass and
reports the running total instead of the data. ``processor.output.series`` (or the 1.3 spelling
``processor.output-series``) is required — a full series path such as
``root.stats.pipe.points``; on each heartbeat with new points, one row goes on: at the current
time (the node's precision), the total as an INT64 — as IoTDB writes it, on device
``root.stats.pipe.points`` and measurement ``points`` (series
``root.stats.pipe.points.points``). IoTDB combines the counts of all its data regions before
reporting; a pipecore node has one store, so its count is already global. The total is saved
in the pipe's directory and survives a restart.

``throwing-exception-processor`` (for tests): ``stages`` lists where it throws — ``validate``,
``customize``, ``process-tablet-insertion-event``, ``process-tsfile-insertion-event``,
``process-event``, ``close``. It collects nothing (as IoTDB's).
"""

from __future__ import annotations

import time

import numpy as np

from pipecore import (
    Event,
    EventCollector,
    HeartbeatEvent,
    MeasurementSchema,
    PipeError,
    PipeParameterNotValidError,
    PipeParameters,
    PipeParameterValidator,
    Processor,
    RuntimeConfiguration,
    Tablet,
    TabletInsertionEvent,
    TSDataType,
    TsFileInsertionEvent,
)

from .options import precision_factor
from .state import load_state, save_state

__all__ = ["CountPointProcessor", "ThrowingExceptionProcessor"]

OUTPUT_SERIES_KEYS = ["processor.output.series", "processor.output-series"]
COUNT_FILE = "count-point-state.json"
_NODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _legal_series(path: str) -> bool:
    nodes = path.split(".")
    if len(nodes) < 3 or nodes[0] != "root":
        return False
    return all(
        (n.startswith("`") and n.endswith("`") and len(n) > 2)
        or (n and set(n) <= _NODE_CHARS and not n.isdigit())
        for n in nodes[1:]
    )


class CountPointProcessor(Processor):
    """``count-point-processor`` (module docstring)."""

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        p = validator.parameters
        validator.validate_synonym_attributes(OUTPUT_SERIES_KEYS[:1], OUTPUT_SERIES_KEYS[1:], True)
        path = p.get_string_by_keys(*OUTPUT_SERIES_KEYS) or ""
        if not _legal_series(path):
            raise PipeParameterNotValidError(
                f"Illegal output series path: {path}",
                key=OUTPUT_SERIES_KEYS[0],
                expected="a series path root.<database>.<...>.<measurement>",
            )

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        path = parameters.get_string_by_keys(*OUTPUT_SERIES_KEYS) or ""
        # IoTDB 2.0.1's TwoStageCountProcessor writes a Tablet whose device is the whole output
        # path (PartialPath.getIDeviceID of all its nodes) and whose measurement is its last
        # node: ``root.a.b.n`` reports on series ``root.a.b.n.n``
        self.device, self.measurement = path, path.rpartition(".")[2]
        self.per_second = precision_factor(configuration)
        self.state_path = configuration.data_dir / COUNT_FILE
        saved = load_state(self.state_path) or {}
        self.count = int(saved.get("count", 0)) if saved.get("series") == path else 0
        self.series = path
        self.reported = self.count

    def processor_process_tablet(
        self, event: TabletInsertionEvent, collector: EventCollector
    ) -> None:
        self.count += event.point_count

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        try:
            for tablet_event in event.to_tablet_insertion_events():
                self.count += tablet_event.point_count
        finally:
            event.close()

    def processor_process_event(self, event: Event, collector: EventCollector) -> None:
        if not isinstance(event, HeartbeatEvent):
            return
        if self.count != self.reported:
            now = int(time.time() * self.per_second)
            schema = MeasurementSchema(self.measurement, TSDataType.INT64)
            tablet = Tablet(self.device, [schema], [now], [np.asarray([self.count], np.int64)])
            collector.collect(TabletInsertionEvent(tablet))
            save_state(self.state_path, {"series": self.series, "count": self.count})
            self.reported = self.count
        collector.collect(event)

    def processor_close(self) -> None:
        if hasattr(self, "state_path"):
            save_state(self.state_path, {"series": self.series, "count": self.count})


class ThrowingError(PipeError):
    """What ``throwing-exception-processor`` raises."""


class ThrowingExceptionProcessor(Processor):
    """``throwing-exception-processor`` (module docstring)."""

    STAGES = (
        "validate",
        "customize",
        "process-tablet-insertion-event",
        "process-tsfile-insertion-event",
        "process-event",
        "close",
    )

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        text = validator.parameters.get_string_or_default("stages", "")
        self.stages = {s.strip() for s in text.lower().split(",")}
        self._maybe("validate", "validate")

    def _maybe(self, stage: str, where: str) -> None:
        if stage in getattr(self, "stages", ()):
            raise ThrowingError(f"Throwing exception in {where}")

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        text = parameters.get_string_or_default("stages", "")
        self.stages = {s.strip() for s in text.lower().split(",")}
        self._maybe("customize", "customize")

    def processor_process_tablet(
        self, event: TabletInsertionEvent, collector: EventCollector
    ) -> None:
        self._maybe(
            "process-tablet-insertion-event", "process(TabletInsertionEvent, EventCollector)"
        )

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        try:
            self._maybe(
                "process-tsfile-insertion-event", "process(TsFileInsertionEvent, EventCollector)"
            )
        finally:
            event.close()

    def processor_process_event(self, event: Event, collector: EventCollector) -> None:
        self._maybe("process-event", "process(Event, EventCollector)")

    def processor_close(self) -> None:
        self._maybe("close", "close")
