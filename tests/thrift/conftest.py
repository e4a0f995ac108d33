"""Fixtures of the thrift sink/receiver tests: a receiver (RpcServer + store) on a free port,
sinks opened as pipe stages, and the parametrised `sink_name` fixture — every transport test
runs against the sync and the async sink (STYLE.md #15)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from thrift_helpers import SENDER_CLUSTER, SINKS, OpenSink, Receiver

from pipecore import PipeParameters, PipeParameterValidator, RuntimeConfiguration, StageContext
from pipecore.stage import Stage


@pytest.fixture(params=sorted(SINKS))
def sink_name(request: pytest.FixtureRequest) -> str:
    """Every transport test runs with the sync and the async sink."""
    return request.param


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path)
    yield r
    r.close()


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []
    names = itertools.count()

    def make(**overrides: Any) -> Receiver:
        r = Receiver(tmp_path, f"receiver{next(names)}", **overrides)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def open_sink(tmp_path: Path) -> Iterator[Callable[..., OpenSink]]:
    opened: list[OpenSink] = []
    counter = itertools.count()

    def _open(
        name: str, params: dict[str, str], *, handshake: bool = True, node_config: Any = None
    ) -> OpenSink:
        cls = SINKS[name]
        context = StageContext("test-pipe", "sink", name.upper(), 0)
        stage = Stage("sink", name.upper(), cls(), context)
        parameters = PipeParameters({"sink": name, **params})
        stage.call["connector_validate"](PipeParameterValidator(parameters))
        data_dir = tmp_path / f"pipe-data-{next(counter)}"
        data_dir.mkdir()
        config = RuntimeConfiguration(
            "test-pipe", 0, data_dir, SENDER_CLUSTER, node_config=node_config
        )
        stage.call["connector_customize"](parameters, config)
        sink = OpenSink(stage)
        opened.append(sink)
        if handshake:
            stage.call["connector_handshake"]()
        return sink

    yield _open
    for sink in opened:
        sink.close()
