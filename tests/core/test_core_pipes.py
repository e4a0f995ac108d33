"""IoTDB 1.3's pipe state rules and messages (reference §9.4), persistence and restore."""

from __future__ import annotations

import time

import pytest

from pipecore import (
    PipeAlreadyExistsError,
    PipeAttributeNotProvidedError,
    PipeDroppedError,
    PipeError,
    PipeNotFoundError,
    PipeParameterNotValidError,
    PipeStatus,
    PluginNotFoundError,
)

SOURCE = {"source": "do-nothing-source"}
SINK = {"sink": "do-nothing-sink"}


def test_create_starts_the_pipe(open_node) -> None:
    node = open_node()
    assert node.create_pipe("p", SOURCE, None, SINK) is True
    info = node.get_pipe("p")
    assert (info.state, info.status) == ("RUNNING", PipeStatus.RUNNING)
    assert node.pipes.task("p") is not None
    assert abs(info.creation_time - time.time() * 1000) < 60_000


def test_create_stopped(open_node) -> None:
    node = open_node()
    node.create_pipe("p", SOURCE, None, SINK, start=False)
    assert node.get_pipe("p").state == "STOPPED"
    assert node.pipes.task("p") is None


def test_create_of_an_existing_pipe(open_node) -> None:
    node = open_node()
    node.create_pipe("p", SOURCE, None, SINK)
    with pytest.raises(PipeAlreadyExistsError) as info:
        node.create_pipe("p", SOURCE, None, SINK)
    assert (
        str(info.value) == "Failed to create pipe p, the pipe with the same name has been created"
    )
    assert node.create_pipe("p", SOURCE, None, SINK, if_not_exists=True) is False


def test_start_of_running_and_stop_of_stopped_are_no_ops(open_node) -> None:
    node = open_node()
    node.create_pipe("p", SOURCE, None, SINK)
    task = node.pipes.task("p")
    node.start_pipe("p")
    assert node.pipes.task("p") is task
    node.stop_pipe("p")
    node.stop_pipe("p")
    assert node.get_pipe("p").state == "STOPPED"
    node.start_pipe("p")
    assert node.get_pipe("p").state == "RUNNING"


@pytest.mark.parametrize("verb", ["start", "stop"])
def test_start_stop_of_missing_or_dropped_pipes(open_node, verb: str) -> None:
    node = open_node()
    action = getattr(node, f"{verb}_pipe")
    with pytest.raises(PipeNotFoundError) as info:
        action("ghost")
    assert str(info.value) == f"Failed to {verb} pipe ghost, the pipe does not exist"
    node.create_pipe("p", SOURCE, None, SINK)
    node.drop_pipe("p")
    assert node.pipes.status("p") == PipeStatus.DROPPED
    with pytest.raises(PipeDroppedError) as dropped:
        action("p")
    assert str(dropped.value) == f"Failed to {verb} pipe p, the pipe is already dropped"


def test_drop_needs_no_stop_and_missing_pipes_need_if_exists(open_node) -> None:
    node = open_node()
    node.create_pipe("p", SOURCE, None, SINK)
    data_dir = node.catalog.pipe_data_dir("p")
    assert data_dir.is_dir()
    assert node.drop_pipe("p") is True
    assert node.list_pipes() == []
    assert not data_dir.exists()
    with pytest.raises(PipeNotFoundError) as info:
        node.drop_pipe("p")
    assert str(info.value) == "Failed to drop pipe p. Failures: p does not exist."
    assert node.drop_pipe("p", if_exists=True) is False
    node.create_pipe("p", SOURCE, None, SINK)  # the name is free again
    assert node.get_pipe("p").state == "RUNNING"


def test_invalid_parameters_fail_create_and_store_nothing(open_node) -> None:
    node = open_node()
    with pytest.raises(PipeParameterNotValidError) as info:
        node.create_pipe(
            "p", {"source": "generated-source", "points": "10", "measurements": "3"}, None, SINK
        )
    assert info.value.key == "measurements" and info.value.plugin_name == "GENERATED-SOURCE"
    with pytest.raises(PipeAttributeNotProvidedError) as missing:
        node.create_pipe("p", SOURCE, None, {"sink": "requiring-sink"})
    assert missing.value.key == "sink.target" and missing.value.plugin_name == "REQUIRING-SINK"
    with pytest.raises(PluginNotFoundError, match="PipePlugin NOPE-SINK has not been registered"):
        node.create_pipe("p", SOURCE, None, {"sink": "nope-sink"})
    with pytest.raises(PipeError, match="cannot connect"):
        node.create_pipe("p", SOURCE, None, {"sink": "unreachable-sink"})
    assert node.list_pipes() == []
    assert not list(node.catalog.meta_dir.iterdir())


def test_default_plugins_are_iotdbs(open_node) -> None:
    from pipecore.parameters import PipeParameters
    from pipecore.runtime import plugin_names

    none = PipeParameters({})
    assert plugin_names(none, none, none) == {
        "source": "iotdb-source",
        "processor": "do-nothing-processor",
        "sink": "iotdb-thrift-sink",
    }
    node = open_node()
    node.create_pipe("p", None, None, SINK)  # the default source, iotdb-source, ships with us
    assert "IOTDB-SOURCE" in {entry.name for entry in node.list_plugins()}
    assert not [e for e in node.get_pipe("p").exceptions if "not been registered" in e.message]
    # the default sink ships with us too (issue 7): without a target it fails CREATE PIPE
    with pytest.raises(PipeParameterNotValidError, match="node-urls"):
        node.create_pipe("q", SOURCE, None, None)


def test_system_pipe_names_are_refused(open_node) -> None:
    with pytest.raises(PipeError, match='starting with "__"'):
        open_node().create_pipe("__internal", SOURCE, None, SINK)


def test_alter_modify_and_replace(open_node) -> None:
    node = open_node()
    node.create_pipe("p", SOURCE, None, {"sink": "counting-sink", "sink.counter": "a", "x": "1"})
    node.alter_pipe("p", sink={"counter": "b"})
    assert dict(node.get_pipe("p").sink) == {"sink": "counting-sink", "counter": "b", "x": "1"}
    assert node.get_pipe("p").state == "RUNNING"
    node.alter_pipe("p", sink={"sink": "do-nothing-sink"}, replace={"sink"})
    assert dict(node.get_pipe("p").sink) == {"sink": "do-nothing-sink"}
    with pytest.raises(PluginNotFoundError):
        node.alter_pipe("p", processor={"processor": "nope"})
    assert dict(node.get_pipe("p").processor) == {}
    with pytest.raises(
        PipeNotFoundError, match=r"Failed to alter pipe q, pipe not found in system"
    ):
        node.alter_pipe("q", sink=SINK)
    assert node.alter_pipe("q", sink=SINK, if_exists=True) is False


def test_show_pipes_sorted_with_masked_parameters(open_node) -> None:
    node = open_node()
    node.create_pipe("b", SOURCE, None, SINK)
    node.create_pipe("a", SOURCE, None, {"sink": "do-nothing-sink", "sink.password": "pw"})
    infos = node.list_pipes()
    assert [i.name for i in infos] == ["a", "b"]
    assert str(infos[0].sink) == "{sink=do-nothing-sink, sink.password=******}"
    assert infos[0].remaining_event_count == 0
    assert infos[0].estimated_remaining_seconds == 0.0
    node.stop_pipe("a")
    assert node.get_pipe("a").remaining_event_count is None


def test_every_pipe_comes_back_in_its_state_after_restart(open_node, wait) -> None:
    node = open_node()
    node.create_pipe("running", SOURCE, None, SINK)
    node.create_pipe("stopped", SOURCE, None, SINK, start=False)
    node.create_pipe("user-stopped", SOURCE, None, SINK)
    node.stop_pipe("user-stopped")
    node.create_pipe("dropped", SOURCE, None, SINK)
    node.drop_pipe("dropped")
    node.create_pipe(
        "failed", {"source": "generated-source", "points": "100"}, None, {"sink": "failing-sink"}
    )
    wait(lambda: node.get_pipe("failed").state == "STOPPED")
    before = {
        i.name: (i.state, i.creation_time, str(i.source), str(i.sink), i.exceptions)
        for i in node.list_pipes()
    }
    node.close()
    node = open_node()
    after = {
        i.name: (i.state, i.creation_time, str(i.source), str(i.sink), i.exceptions)
        for i in node.list_pipes()
    }
    assert after == before
    assert set(after) == {"running", "stopped", "user-stopped", "failed"}
    assert node.pipes.task("running") is not None and node.pipes.task("stopped") is None
