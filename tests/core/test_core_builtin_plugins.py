"""pipecore's own plugins pass the conformance kits plugin authors use."""

from __future__ import annotations

from pathlib import Path

from pipecore import Event, TabletInsertionEvent
from pipecore.builtin import DoNothingProcessor, DoNothingSink
from pipecore.testing import ConnectorTests, ProcessorTests
from pipecore.testing.plugins import CollectingSink, collected, reset
from pipecore_storage import Tablet


class TestDoNothingSink(ConnectorTests):
    plugin_class = DoNothingSink
    plugin_name = "do-nothing-sink"

    def sink_parameters(self, tmp_path: Path) -> dict[str, str]:
        return {"sink": "do-nothing-sink"}


class TestCollectingSink(ConnectorTests):
    plugin_class = CollectingSink
    plugin_name = "collecting-sink"

    def sink_parameters(self, tmp_path: Path) -> dict[str, str]:
        reset(str(tmp_path))
        return {"sink": "collecting-sink", "sink.collector": str(tmp_path)}

    def read_back(self, parameters: dict[str, str]) -> list[Tablet]:
        return list(collected(parameters["sink.collector"]))


class TestDoNothingProcessor(ProcessorTests):
    plugin_class = DoNothingProcessor

    def check_output(self, inputs: list[Tablet], outputs: list[Event]) -> None:
        tablets = [e.tablet for e in outputs if isinstance(e, TabletInsertionEvent)]
        assert tablets == inputs  # the very same tablets, in order
        assert len(outputs) == len(inputs) + 2  # the heartbeat and the deletion pass too
