"""``aggregate-processor`` with its helpers ``tumbling-windowing-processor`` and
``standard-statistics-processor`` (reference §8.4; IoTDB's ``AggregateProcessor``).

Parameters (IoTDB's keys and defaults):

* ``processor.operators`` — required: a comma-separated list of ``avg``, ``var``, ``skew``,
  ``kurt``, ``rms``, ``cf``, ``ff``, ``pf``, ``ce``, ``peak``, ``max``, ``min`` (any case);
* ``processor.windowing-strategy`` — ``tumbling`` (the ``tumbling-windowing-processor``);
* ``processor.sliding.seconds`` (120, > 0) and ``processor.sliding.boundary-time`` (0, a
  timestamp or an ISO date-time);
* ``processor.output.database`` — "" (the source's own paths) or a database under ``root.``;
* ``processor.output.measurements`` — names for the operators' outputs, in order;
* ``processor.output.max-delay-seconds`` (-1 = never): after this long without data, a
  heartbeat emits every open window's current result (without closing it);
* ``processor.output.min-report-interval-seconds`` (30): how often the window state is saved.

Output: for every source series ``root.db.d1.s1`` and every closed window, one row at the
window's start time on the *device* ``root.db.d1.s1`` (or ``<output.database>.d1.s1``) with one
measurement per operator (``avg``, ``max``, … or the names given). Data events are consumed;
only the results go on. The windows' state is saved in the pipe's directory and restored when
the pipe starts again, as IoTDB restores it from its progress index.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from typing import Any

import numpy as np

from pipecore import (
    Event,
    EventCollector,
    MeasurementSchema,
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

from .options import precision_factor, validated_int
from .state import load_state, save_state
from .windows import NUMERIC_TYPES, OPERATORS, Accumulator, assign_windows

__all__ = ["AggregateProcessor", "StandardStatisticsProcessor", "TumblingWindowingProcessor"]

log = logging.getLogger(__name__)

OPERATORS_KEY = "processor.operators"
STRATEGY_KEY = "processor.windowing-strategy"
SLIDING_SECONDS_KEY = "processor.sliding.seconds"
BOUNDARY_KEY = "processor.sliding.boundary-time"
OUTPUT_DATABASE_KEY = "processor.output.database"
OUTPUT_MEASUREMENTS_KEY = "processor.output.measurements"
MAX_DELAY_KEY = "processor.output.max-delay-seconds"
MIN_REPORT_KEY = "processor.output.min-report-interval-seconds"
STATE_FILE = "aggregate-state.json"
_LEGAL_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _split(text: str) -> list[str]:
    return [p for p in text.replace(" ", "").split(",") if p] if text else []


def _legal_measurement(name: str) -> bool:
    if name.startswith("`") and name.endswith("`") and len(name) > 2:
        return True
    return bool(name) and set(name) <= _LEGAL_NAME and not name.isdigit()


def parse_boundary(text: str, per_second: int) -> int:
    """``processor.sliding.boundary-time``: an integer timestamp, or an ISO-8601 date-time
    (without a zone: UTC) converted to the node's precision."""
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of parameter {BOUNDARY_KEY}: expected a timestamp or "
            "a date-time",
            key=BOUNDARY_KEY,
            expected="a timestamp or an ISO-8601 date-time",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return round(moment.timestamp() * per_second)


class TumblingWindowingProcessor(Processor):
    """``tumbling-windowing-processor``: the windowing strategy ``tumbling`` of
    ``aggregate-processor`` (on its own it passes events on, as IoTDB's hidden helper does
    nothing useful outside the aggregate processor)."""

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        seconds = validator.parameters.get_long_or_default(SLIDING_SECONDS_KEY, 120)
        validator.validate(
            lambda v: v > 0,
            f"The parameter {SLIDING_SECONDS_KEY} must be greater than 0",
            seconds,
            key=SLIDING_SECONDS_KEY,
        )
        text = validator.parameters.get_string(BOUNDARY_KEY)
        if text is not None:
            parse_boundary(text, 1000)


class StandardStatisticsProcessor(Processor):
    """``standard-statistics-processor``: the operators of ``aggregate-processor`` (a helper;
    on its own it passes events on)."""

    operator_names = tuple(OPERATORS)


_WINDOWING = {"tumbling": TumblingWindowingProcessor}


class AggregateProcessor(Processor):
    """``aggregate-processor`` (module docstring)."""

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        p = validator.parameters
        operators = p.get_string_or_default(OPERATORS_KEY, "")
        validator.validate(
            lambda v: bool(v.strip()),
            f"The parameter {OPERATORS_KEY} must not be empty.",
            operators,
            key=OPERATORS_KEY,
        )
        strategy = p.get_string_or_default(STRATEGY_KEY, "tumbling")
        validator.validate(
            lambda v: v.strip().lower() in _WINDOWING,
            f"The processor {strategy}-windowing-processor is not a windowing processor "
            f"(strategies: {', '.join(_WINDOWING)}).",
            strategy,
            key=STRATEGY_KEY,
        )
        database = p.get_string_or_default(OUTPUT_DATABASE_KEY, "")
        validator.validate(
            lambda v: v == "" or v.startswith("root."),
            f"The output database {database} shall start with root.",
            database,
            key=OUTPUT_DATABASE_KEY,
        )
        measurements = p.get_string_or_default(OUTPUT_MEASUREMENTS_KEY, "")
        validator.validate(
            lambda v: all(_legal_measurement(m) for m in _split(v)),
            f"The output measurements {measurements} contains illegal measurements, the "
            "measurements must be the last level of a legal path",
            measurements,
            key=OUTPUT_MEASUREMENTS_KEY,
        )
        self._output_names(p)  # unknown operators are named here
        _WINDOWING[strategy.strip().lower()]().processor_validate(validator)
        p.get_long_or_default(MAX_DELAY_KEY, -1)
        validated_int(validator, MIN_REPORT_KEY, 30, minimum=0)

    @staticmethod
    def _output_names(p: PipeParameters) -> dict[str, str]:
        """Output name → operator name, in the order given; unknown operators are an error."""
        operators = _split(p.get_string_or_default(OPERATORS_KEY, ""))
        names = _split(p.get_string_or_default(OUTPUT_MEASUREMENTS_KEY, ""))
        chosen: dict[str, str] = {}
        unknown: dict[str, str] = {}
        for i, op in enumerate(operators):
            out = names[i] if i < len(names) else op
            (chosen if op.lower() in OPERATORS else unknown)[out] = op.lower()
        if unknown:
            mapping = ", ".join(f"{v}={k}" for k, v in unknown.items())
            raise PipeParameterNotValidError(
                f"The aggregator and output name {{{mapping}}} is invalid.",
                key=OPERATORS_KEY,
                expected=f"operators among {sorted(OPERATORS)}",
            )
        return chosen

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        per_second = precision_factor(configuration)
        self.outputs = self._output_names(parameters)
        self.interval = parameters.get_long_or_default(SLIDING_SECONDS_KEY, 120) * per_second
        text = parameters.get_string(BOUNDARY_KEY)
        self.boundary = 0 if text is None else parse_boundary(text, per_second)
        database = parameters.get_string_or_default(OUTPUT_DATABASE_KEY, "")
        self.output_database = database
        delay = parameters.get_long_or_default(MAX_DELAY_KEY, -1)
        self.max_delay = None if delay < 0 else max(delay, 0.001)
        self.report_every = parameters.get_long_or_default(MIN_REPORT_KEY, 30)
        self.store = configuration.store
        self.state_path = configuration.data_dir / STATE_FILE
        self.series: dict[str, dict[str, Any]] = {}
        self._restore()
        self.last_data = time.monotonic()
        self.forced = False
        self.last_report = time.monotonic()

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        saved = load_state(self.state_path)
        if not saved or saved.get("interval") != self.interval:
            return
        for path, entry in saved.get("series", {}).items():
            acc = entry.get("acc")
            self.series[path] = {
                "window": entry.get("window"),
                "watermark": entry.get("watermark"),
                "type": entry.get("type"),
                "acc": None if acc is None else Accumulator.from_json(acc),
            }

    def _save(self) -> None:
        series = {
            path: {**s, "acc": None if s["acc"] is None else s["acc"].to_json()}
            for path, s in self.series.items()
        }
        save_state(self.state_path, {"interval": self.interval, "series": series})
        self.last_report = time.monotonic()

    # ------------------------------------------------------------------ hooks
    def processor_process_tablet(
        self, event: TabletInsertionEvent, collector: EventCollector
    ) -> None:
        self.last_data = time.monotonic()
        self.forced = False
        tablet = event.tablet
        for j, schema in enumerate(tablet.schemas):
            if schema.data_type not in NUMERIC_TYPES:
                continue  # no standard statistic supports it: IoTDB purges such windows
            present = ~tablet.null_mask(j)
            times = tablet.timestamps[present]
            if times.size:
                values = tablet.columns[j][present]
                out = self._update(tablet.device, schema, times, values)
                if out is not None:
                    collector.collect(event.derive(out))
        if time.monotonic() - self.last_report >= self.report_every:
            self._save()

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        try:
            for tablet_event in event.to_tablet_insertion_events():
                self.processor_process_tablet(tablet_event, collector)
        finally:
            event.close()

    def processor_process_event(self, event: Event, collector: EventCollector) -> None:
        idle = time.monotonic() - self.last_data
        if self.max_delay is not None and not self.forced and idle > self.max_delay:
            self._force_output(collector)
            self.forced = True  # nothing more until new data comes (IoTDB's CAS to MAX)
        collector.collect(event)

    def processor_close(self) -> None:
        if hasattr(self, "series"):
            self._save()

    # ------------------------------------------------------------------ windows
    def _series_key(self, device: str, measurement: str) -> str:
        path = f"{device}.{measurement}"
        if not self.output_database:
            return path
        return f"{self.output_database}.{path[len(self._database_of(path)) + 1 :]}"

    def _database_of(self, path: str) -> str:
        info = self.store.series(path) if self.store is not None else None
        if info is not None:
            return str(info.database)
        return ".".join(path.split(".")[:2])

    def _update(
        self, device: str, schema: MeasurementSchema, times: np.ndarray, values: np.ndarray
    ) -> Tablet | None:
        key = self._series_key(device, schema.name)
        s = self.series.setdefault(
            key, {"window": None, "watermark": None, "type": None, "acc": None}
        )
        if s["type"] not in (None, schema.data_type.name):
            log.warning("%s changed type to %s: its open window is purged", key, schema.data_type)
            s.update(window=None, acc=None)
        s["type"] = schema.data_type.name
        run = assign_windows(times, self.boundary, self.interval, s["window"], s["watermark"])
        s["watermark"] = run.watermark
        if run.kept.size == 0:
            return None
        starts = np.flatnonzero(np.diff(run.windows, prepend=run.windows[0] - 1))
        accs = Accumulator.from_points(values[run.kept], starts)
        windows = run.windows[starts].tolist()
        if s["window"] is not None and s["acc"] is not None:
            if windows[0] == s["window"]:
                accs[0] = s["acc"].merge(accs[0])
            else:
                windows.insert(0, s["window"])
                accs.insert(0, s["acc"])
        s["window"], s["acc"] = windows[-1], accs[-1]
        closed = list(zip(windows[:-1], accs[:-1], strict=True))
        return self._results(key, schema.data_type, closed) if closed else None

    def _results(
        self, key: str, data_type: TSDataType, closed: list[tuple[int, Accumulator]]
    ) -> Tablet:
        times = np.asarray([self.boundary + w * self.interval for w, _ in closed], np.int64)
        schemas, columns = [], []
        for out, op in self.outputs.items():
            same_type, result = OPERATORS[op]
            out_type = data_type if same_type else TSDataType.DOUBLE
            schemas.append(MeasurementSchema(out, out_type))
            columns.append(np.asarray([result(acc) for _, acc in closed], out_type.numpy_dtype))
        return Tablet(key, schemas, times, columns)

    def _force_output(self, collector: EventCollector) -> None:
        for key, s in self.series.items():
            if s["window"] is None or s["acc"] is None:
                continue
            tablet = self._results(key, TSDataType[s["type"]], [(s["window"], s["acc"])])
            collector.collect(TabletInsertionEvent(tablet))
