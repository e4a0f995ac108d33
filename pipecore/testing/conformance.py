"""Conformance kits for plugin authors (pytest).

Subclass a kit in your plugin's test module; every ``test_*`` method of the kit then runs
against your plugin::

    from pipecore.testing import ConnectorTests
    from my_sink import MySink, read_back

    class TestMySink(ConnectorTests):
        plugin_class = MySink
        plugin_name = "my-sink"          # as registered; enables the in-a-pipe test

        def sink_parameters(self, tmp_path):
            return {"sink": "my-sink", "sink.path": str(tmp_path / "out")}

        def read_back(self, parameters):  # optional: what arrived, as tablets
            return read_back(parameters["sink.path"])

pipecore's own sinks run the same kit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType

from ..events import DeletionEvent, Event, HeartbeatEvent, TabletInsertionEvent
from ..parameters import PipeParameters, PipeParameterValidator
from ..plugin import RuntimeConfiguration, StageContext
from ..stage import Stage, check_plugin_class
from . import plugins, wait_until

__all__ = ["ConnectorTests", "ProcessorTests", "sample_tablets"]


def sample_tablets() -> list[Tablet]:
    """Three small tablets: several types, nulls, an aligned device."""
    times = np.arange(1_000, 1_010, dtype=np.int64)
    mixed = Tablet(
        "root.kit.d1",
        [
            MeasurementSchema("temperature", TSDataType.DOUBLE),
            MeasurementSchema("count", TSDataType.INT64),
            MeasurementSchema("status", TSDataType.BOOLEAN),
            MeasurementSchema("note", TSDataType.TEXT),
        ],
        times,
        [times * 0.5, times * 2, times % 2 == 0, np.array([f"n{t}" for t in times], dtype=object)],
        [None, times % 3 == 0, None, times % 4 == 0],
    )
    ints = Tablet(
        "root.kit.d2",
        [MeasurementSchema("s1", TSDataType.INT32), MeasurementSchema("s2", TSDataType.FLOAT)],
        times,
        [np.arange(10, dtype=np.int32), np.linspace(0, 1, 10, dtype=np.float32)],
    )
    aligned = Tablet(
        "root.kit.aligned",
        [MeasurementSchema("s1", TSDataType.DOUBLE)],
        times + 100,
        [np.full(10, 1.5)],
        aligned=True,
    )
    return [mixed, ints, aligned]


def _points(tablets: list[Tablet]) -> int:
    return sum(t.point_count() for t in tablets)


def _configuration(tmp_path: Path, name: str) -> RuntimeConfiguration:
    data_dir = tmp_path / "pipe-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    return RuntimeConfiguration(name, 0, data_dir, "00000000-0000-0000-0000-000000000000")


class ConnectorTests:
    """Tests every sink (connector) plugin must pass."""

    plugin_class: ClassVar[type]
    plugin_name: ClassVar[str | None] = None
    #: points the in-a-pipe test moves
    pipe_points: ClassVar[int] = 20_000

    # ------------------------------------------------------------------ to override
    def sink_parameters(self, tmp_path: Path) -> dict[str, str]:
        """Parameters with which the sink works in this test environment."""
        return {}

    def read_back(self, parameters: dict[str, str]) -> list[Tablet] | None:
        """The tablets the sink delivered (to check the data), or None to skip that check."""
        return None

    # ------------------------------------------------------------------ helpers
    @pytest.fixture
    def parameters(self, tmp_path: Path) -> dict[str, str]:
        return self.sink_parameters(tmp_path)

    def _stage(self, tmp_path: Path) -> Stage:
        name = (self.plugin_name or self.plugin_class.__name__).upper()
        context = StageContext("conformance", "sink", name, 0)
        return Stage("sink", name, self.plugin_class(), context)

    def _open(self, parameters: dict[str, str], tmp_path: Path) -> Stage:
        stage = self._stage(tmp_path)
        params = PipeParameters(parameters)
        stage.call["connector_validate"](PipeParameterValidator(params))
        stage.call["connector_customize"](params, _configuration(tmp_path, "conformance"))
        stage.call["connector_handshake"]()
        return stage

    # ------------------------------------------------------------------ the tests
    def test_hooks_match_the_specs(self, tmp_path: Path) -> None:
        check_plugin_class("sink", self.plugin_class, self.plugin_class.__name__)
        stage = self._stage(tmp_path)
        assert stage.call["connector_transfer_tablet"] is not None

    def test_validate_accepts_the_parameters(self, parameters: dict[str, str]) -> None:
        stage = self._stage(Path("."))
        stage.call["connector_validate"](PipeParameterValidator(PipeParameters(parameters)))

    def test_transfers_tablets_heartbeats_and_other_events(
        self, parameters: dict[str, str], tmp_path: Path
    ) -> None:
        stage = self._open(parameters, tmp_path)
        tablets = sample_tablets()
        try:
            for i, tablet in enumerate(tablets):
                stage.call["connector_transfer_tablet"](TabletInsertionEvent(tablet, commit_id=i))
            stage.call["connector_flush"]()  # what the runtime calls when it has no more
            heartbeat = HeartbeatEvent()
            stage.call["connector_heartbeat"]()
            stage.call["connector_transfer_event"](heartbeat)
            stage.call["connector_transfer_event"](DeletionEvent("root.kit.nothing.**", 0, 1))
            stage.call["connector_transfer_event"](Event())
        finally:
            stage.close()
        delivered = self.read_back(parameters)
        if delivered is not None:
            assert _points(delivered) == _points(tablets)
            by_device = {t.device: t for t in delivered}
            for tablet in tablets:
                assert tablet.equals(by_device[tablet.device]), tablet.device

    def test_close_without_handshake_or_transfer(
        self, parameters: dict[str, str], tmp_path: Path
    ) -> None:
        stage = self._stage(tmp_path)
        params = PipeParameters(parameters)
        stage.call["connector_validate"](PipeParameterValidator(params))
        stage.call["connector_customize"](params, _configuration(tmp_path, "conformance"))
        stage.close()

    def test_moves_every_point_in_a_pipe(self, parameters: dict[str, str], tmp_path: Path) -> None:
        if self.plugin_name is None:
            pytest.skip("set plugin_name (the registered name) to run the sink in a real pipe")
        from ..server.node import Node

        points = self.pipe_points
        with Node.open(tmp_path / "node", plugins=[plugins]) as node:
            node.create_pipe(
                "conformance",
                source={
                    "source": "generated-source",
                    "source.points": str(points),
                    "source.devices": "3",
                    "source.measurements": "2",
                    "source.rows-per-tablet": "997",
                },
                sink={**parameters, "sink": self.plugin_name},
            )
            info = wait_until(lambda: _finished(node.get_pipe("conformance")), 120)
            assert info.state == "RUNNING", info.exceptions
        delivered = self.read_back(parameters)
        if delivered is not None:
            assert _points(delivered) == points
            for tablet in delivered:
                for j, column in enumerate(tablet.columns):
                    expected = tablet.timestamps.astype(np.float64) * (j + 1)
                    assert np.array_equal(column, expected), (tablet.device, j)


def _finished(info: Any) -> Any:
    if info.state != "RUNNING":
        return info  # stopped by an error: let the caller's assertion show it
    facts = info.facts
    if facts is not None and facts.supplied_events and facts.remaining_event_count == 0:
        return info
    return None


class _Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def collect(self, event: Event) -> None:
        self.events.append(event)


class ProcessorTests:
    """Tests every processor plugin must pass. Override `processor_parameters`, and
    `check_output` to say what the processor should have produced from the sample tablets."""

    plugin_class: ClassVar[type]

    def processor_parameters(self, tmp_path: Path) -> dict[str, str]:
        return {}

    def check_output(self, inputs: list[Tablet], outputs: list[Event]) -> None:
        """Default: every output is an event; tablets stay within the input devices."""
        devices = {t.device for t in inputs}
        for event in outputs:
            assert isinstance(event, Event)
            if isinstance(event, TabletInsertionEvent):
                assert event.tablet.device in devices

    def _open(self, tmp_path: Path) -> Stage:
        name = self.plugin_class.__name__.upper()
        stage = Stage(
            "processor", name, self.plugin_class(), StageContext("kit", "processor", name, 0)
        )
        params = PipeParameters(self.processor_parameters(tmp_path))
        stage.call["processor_validate"](PipeParameterValidator(params))
        stage.call["processor_customize"](params, _configuration(tmp_path, "kit"))
        return stage

    def test_hooks_match_the_specs(self) -> None:
        check_plugin_class("processor", self.plugin_class, self.plugin_class.__name__)

    def test_processes_tablets_and_other_events(self, tmp_path: Path) -> None:
        stage = self._open(tmp_path)
        recorder = _Recorder()
        tablets = sample_tablets()
        try:
            for tablet in tablets:
                stage.call["processor_process_tablet"](TabletInsertionEvent(tablet), recorder)
            stage.call["processor_process_event"](HeartbeatEvent(), recorder)
            stage.call["processor_process_event"](DeletionEvent("root.kit.**"), recorder)
        finally:
            stage.close()
        self.check_output(tablets, recorder.events)
