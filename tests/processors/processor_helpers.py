"""Helpers of the processor tests: run one processor stage by hand, record what it collects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipecore import (
    Event,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    StageContext,
)
from pipecore.stage import Stage


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def collect(self, event: Event) -> None:
        self.events.append(event)


def open_stage(cls: type, parameters: dict[str, str], data_dir: Path, store: Any = None) -> Stage:
    """A processor stage of `cls`, validated and customized with `parameters`."""
    name = cls.__name__.upper()
    stage = Stage("processor", name, cls(), StageContext("t", "processor", name, 0))
    params = PipeParameters(parameters)
    stage.call["processor_validate"](PipeParameterValidator(params))
    data_dir.mkdir(parents=True, exist_ok=True)
    configuration = RuntimeConfiguration("t", 0, data_dir, "cluster", store=store)
    stage.call["processor_customize"](params, configuration)
    return stage
