"""The example sink passes pipecore's conformance kit (run after `pip install` of the sink)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecore_jsonl_sink import JsonlSink, read_jsonl

from pipecore import PipeAttributeNotProvidedError, PipeParameters, PipeParameterValidator
from pipecore.testing import ConnectorTests
from pipecore_storage import Tablet


class TestJsonlSink(ConnectorTests):
    plugin_class = JsonlSink
    plugin_name = "jsonl-sink"

    def sink_parameters(self, tmp_path: Path) -> dict[str, str]:
        return {"sink": "jsonl-sink", "sink.path": str(tmp_path / "out.jsonl")}

    def read_back(self, parameters: dict[str, str]) -> list[Tablet]:
        return list(read_jsonl(parameters["sink.path"]))


def test_a_missing_path_is_refused_naming_the_key() -> None:
    validator = PipeParameterValidator(PipeParameters({"sink": "jsonl-sink"}))
    with pytest.raises(PipeAttributeNotProvidedError, match=r"sink\.path"):
        JsonlSink().connector_validate(validator)
