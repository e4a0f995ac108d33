"""IoTDB's down-sampling processors: ``tumbling-time-sampling-processor``,
``sdt-sampling-processor`` and ``changing-value-sampling-processor`` (reference §8.4).

Common to the three (IoTDB's ``DownSamplingProcessor``):

* every series (device + measurement) has its own state, kept in memory in an LRU cache bounded
  by ``processor.down-sampling.memory-limit-in-bytes`` (default 16 MiB, must be > 0); a series
  evicted from it starts afresh (its next point is kept). The state lives as long as the pipe
  runs — IoTDB does not keep it across a restart, nor do we.
* a tablet is filtered per series in row order; a row is kept when any of its values is kept,
  and the values that are not kept become nulls in it (IoTDB's ``PipeRemarkableRow``);
* a TsFile event passes on whole unless ``processor.down-sampling.split-file`` is true (default
  false: the file is already compressed, sampling it would cost CPU for little gain); then its
  tablets are sampled like realtime ones;
* other events pass on unchanged.

The rules themselves are in `kernels`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import numpy as np

from pipecore import (
    Event,
    EventCollector,
    PipeParameters,
    PipeParameterValidator,
    Processor,
    RuntimeConfiguration,
    Tablet,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)

from . import kernels
from .options import precision_factor, validated_float, validated_int

__all__ = [
    "ChangingValueSamplingProcessor",
    "DownSamplingProcessor",
    "SeriesStateCache",
    "SwingingDoorTrendingSamplingProcessor",
    "TumblingTimeSamplingProcessor",
]

log = logging.getLogger(__name__)

SPLIT_FILE_KEY = "processor.down-sampling.split-file"
MEMORY_LIMIT_KEY = "processor.down-sampling.memory-limit-in-bytes"
MEMORY_LIMIT_DEFAULT = 16 * 1024 * 1024
#: what one series' state is charged besides its path (IoTDB charges 64 bytes per filter)
STATE_BYTES = 64
JAVA_LONG_MAX = 2**63 - 1


class SeriesStateCache:
    """Per-series state in least-recently-used order, bounded in bytes (IoTDB's
    ``PartialPathLastObjectCache``): each entry costs its path length plus `STATE_BYTES`."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.used = 0
        self._states: OrderedDict[str, Any] = OrderedDict()
        self.evictions = 0

    def get(self, path: str) -> Any:
        state = self._states.get(path)
        if state is not None:
            self._states.move_to_end(path)
        return state

    def put(self, path: str, state: Any) -> None:
        if path not in self._states:
            self.used += len(path) + STATE_BYTES
        self._states[path] = state
        self._states.move_to_end(path)
        while self.used > self.limit and len(self._states) > 1:
            old, _ = self._states.popitem(last=False)
            self.used -= len(old) + STATE_BYTES
            self.evictions += 1

    def __len__(self) -> int:
        return len(self._states)


class DownSamplingProcessor(Processor):
    """What the three sampling processors share; a subclass implements `_keep`."""

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        limit = validator.parameters.get_long_or_default(MEMORY_LIMIT_KEY, MEMORY_LIMIT_DEFAULT)
        validator.validate(
            lambda v: v > 0,
            f"{MEMORY_LIMIT_KEY} must be > 0, but got {limit}",
            limit,
            key=MEMORY_LIMIT_KEY,
        )

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        self.split_file = parameters.get_boolean_or_default(SPLIT_FILE_KEY, False)
        limit = parameters.get_long_or_default(MEMORY_LIMIT_KEY, MEMORY_LIMIT_DEFAULT)
        self.cache = SeriesStateCache(limit)

    # ------------------------------------------------------------------ hooks
    def processor_process_tablet(
        self, event: TabletInsertionEvent, collector: EventCollector
    ) -> None:
        sampled = self.sample(event.tablet)
        if sampled is not None:
            collector.collect(event.derive(sampled))

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        if not self.split_file:
            collector.collect(event)
            return
        try:
            for tablet_event in event.to_tablet_insertion_events():
                self.processor_process_tablet(tablet_event, collector)
        finally:
            event.close()

    def processor_process_event(self, event: Event, collector: EventCollector) -> None:
        collector.collect(event)

    # ------------------------------------------------------------------ sampling
    def sample(self, tablet: Tablet) -> Tablet | None:
        """The rows of `tablet` with at least one kept value, the others' values as nulls;
        None when nothing is kept."""
        rows = tablet.row_count
        if rows == 0:
            return None
        dropped: list[np.ndarray] = []
        any_kept = np.zeros(rows, np.bool_)
        for j, schema in enumerate(tablet.schemas):
            present = np.flatnonzero(~tablet.null_mask(j))
            keep = np.zeros(rows, np.bool_)
            if present.size:
                path = f"{tablet.device}.{schema.name}"
                column = tablet.columns[j]
                values = column if present.size == rows else column[present]
                times = tablet.timestamps if present.size == rows else tablet.timestamps[present]
                idx, state = self._keep(times, values, schema.data_type, self.cache.get(path))
                self.cache.put(path, state)
                keep[present[idx]] = True
            any_kept |= keep
            dropped.append(~keep)
        if not any_kept.any():
            return None
        if any_kept.all() and not any(d.any() for d in dropped):
            return tablet
        return Tablet(
            tablet.device,
            tablet.schemas,
            tablet.timestamps[any_kept],
            [c[any_kept] for c in tablet.columns],
            [d[any_kept] for d in dropped],
            tablet.aligned,
        )

    def _keep(
        self, times: np.ndarray, values: np.ndarray, data_type: Any, state: Any
    ) -> tuple[np.ndarray, Any]:
        raise NotImplementedError


class TumblingTimeSamplingProcessor(DownSamplingProcessor):
    """``tumbling-time-sampling-processor``: per series, keep a point when at least
    ``processor.tumbling-time.interval-seconds`` (default 60, in the node's timestamp
    precision) lie between it and the series' last kept point (``|t - last| >= interval``)."""

    INTERVAL_KEY = "processor.tumbling-time.interval-seconds"

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        super().processor_validate(validator)
        validated_int(validator, self.INTERVAL_KEY, 60, minimum=0)

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        seconds = parameters.get_long_or_default(self.INTERVAL_KEY, 60)
        self.interval = seconds * precision_factor(configuration)

    def _keep(
        self, times: np.ndarray, values: np.ndarray, data_type: Any, state: Any
    ) -> tuple[np.ndarray, Any]:
        return kernels.tumbling_keep(times, state, self.interval)


class _DeviationSampler(DownSamplingProcessor):
    """Parameters of the two deviation-based samplers: ``<prefix>.compression-deviation``
    (>= 0, default 0), ``<prefix>.min-time-interval`` (>= 0, default 0) and
    ``<prefix>.max-time-interval`` (>= min, default Long.MAX), in timestamp units."""

    PREFIX = ""

    def _keys(self) -> tuple[str, str, str]:
        p = self.PREFIX
        return f"{p}.compression-deviation", f"{p}.min-time-interval", f"{p}.max-time-interval"

    def processor_validate(self, validator: PipeParameterValidator) -> None:
        super().processor_validate(validator)
        dev_key, min_key, max_key = self._keys()
        validated_float(validator, dev_key, 0.0, minimum=0.0)
        low = validated_int(validator, min_key, 0, minimum=0)
        high = validated_int(validator, max_key, JAVA_LONG_MAX, minimum=0)
        validator.validate(
            lambda a, b: a <= b,
            f"{min_key} must be <= {max_key}, but got {low} and {high}",
            low,
            high,
            key=min_key,
        )

    def processor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().processor_customize(parameters, configuration)
        dev_key, min_key, max_key = self._keys()
        self.deviation = parameters.get_double_or_default(dev_key, 0.0)
        self.min_interval = parameters.get_long_or_default(min_key, 0)
        self.max_interval = parameters.get_long_or_default(max_key, JAVA_LONG_MAX)


class SwingingDoorTrendingSamplingProcessor(_DeviationSampler):
    """``sdt-sampling-processor``: swinging door trending as IoTDB's filter does it (see
    `kernels.sdt_keep`); keys ``processor.sdt.*``."""

    PREFIX = "processor.sdt"

    def _keep(
        self, times: np.ndarray, values: np.ndarray, data_type: Any, state: Any
    ) -> tuple[np.ndarray, Any]:
        return kernels.sdt_keep(
            times, values, data_type, state, self.deviation, self.min_interval, self.max_interval
        )


class ChangingValueSamplingProcessor(_DeviationSampler):
    """``changing-value-sampling-processor``: keep a point whose value moved more than the
    deviation from the last kept one (see `kernels.changing_value_keep`); keys
    ``processor.changing-value.*``."""

    PREFIX = "processor.changing-value"

    def _keep(
        self, times: np.ndarray, values: np.ndarray, data_type: Any, state: Any
    ) -> tuple[np.ndarray, Any]:
        return kernels.changing_value_keep(
            times, values, data_type, state, self.deviation, self.min_interval, self.max_interval
        )
