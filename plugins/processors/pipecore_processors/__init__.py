"""IoTDB's built-in processors for pipecore (reference §8.4), registered through the
``pipecore`` entry point ``processors = "pipecore_processors"``:

* ``tumbling-time-sampling-processor``, ``sdt-sampling-processor``,
  ``changing-value-sampling-processor`` — down-sampling per series (`sampling`, `kernels`);
* ``aggregate-processor`` with ``tumbling-windowing-processor`` and
  ``standard-statistics-processor`` — windowed statistics (`aggregate`, `windows`);
* ``count-point-processor``, ``throwing-exception-processor`` (`counting`).

docs/processors.md describes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipecore import hookimpl

from .aggregate import AggregateProcessor, StandardStatisticsProcessor, TumblingWindowingProcessor
from .counting import CountPointProcessor, ThrowingExceptionProcessor
from .sampling import (
    ChangingValueSamplingProcessor,
    SwingingDoorTrendingSamplingProcessor,
    TumblingTimeSamplingProcessor,
)

__all__ = [
    "AggregateProcessor",
    "ChangingValueSamplingProcessor",
    "CountPointProcessor",
    "StandardStatisticsProcessor",
    "SwingingDoorTrendingSamplingProcessor",
    "ThrowingExceptionProcessor",
    "TumblingTimeSamplingProcessor",
    "TumblingWindowingProcessor",
]

PROCESSORS: dict[str, type] = {
    "tumbling-time-sampling-processor": TumblingTimeSamplingProcessor,
    "sdt-sampling-processor": SwingingDoorTrendingSamplingProcessor,
    "changing-value-sampling-processor": ChangingValueSamplingProcessor,
    "aggregate-processor": AggregateProcessor,
    "tumbling-windowing-processor": TumblingWindowingProcessor,
    "standard-statistics-processor": StandardStatisticsProcessor,
    "count-point-processor": CountPointProcessor,
    "throwing-exception-processor": ThrowingExceptionProcessor,
}


@hookimpl
def register_pipe_plugins(register: Callable[..., Any]) -> None:
    for name, cls in PROCESSORS.items():
        register("processor", name, cls)
