"""The pipe state machine against an in-memory model, restarts of the node included."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pipecore
from pipecore import (
    PipeAlreadyExistsError,
    PipeDroppedError,
    PipeNotFoundError,
    PipeRuntimeError,
)
from pipecore.pipe_catalog import Catalog

# A memory file system when there is one: this test is about the state rules, and an fsync on a
# disk costs milliseconds (durability has its own tests in test_core_catalog.py).
_FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

NAMES = st.sampled_from(["a", "b", "c", "d"])
SOURCE = {"source": "do-nothing-source"}
CONFIG = {
    "pipe_auto_restart_enabled": False,
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 60.0,
}


@attrs.define
class Model:
    state: str  # RUNNING / STOPPED
    by_error: bool = False
    exceptions: int = 0
    counter: str = "0"


class PipeStateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pipecore-stateful-", dir=_FAST_DIR))
        self.node = pipecore.Node.open(self.dir, CONFIG, env={})
        self.model: dict[str, Model] = {}
        self.dropped: set[str] = set()

    def teardown(self) -> None:
        self.node.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(name=NAMES, start=st.booleans(), if_not_exists=st.booleans())
    def create(self, name: str, start: bool, if_not_exists: bool) -> None:
        sink = {"sink": "do-nothing-sink", "counter": "0"}
        if name in self.model:
            if if_not_exists:
                assert not self.node.create_pipe(name, SOURCE, None, sink, if_not_exists=True)
            else:
                try:
                    self.node.create_pipe(name, SOURCE, None, sink)
                    raise AssertionError("created twice")
                except PipeAlreadyExistsError as exc:
                    assert str(exc) == (
                        f"Failed to create pipe {name}, "
                        "the pipe with the same name has been created"
                    )
            return
        assert self.node.create_pipe(
            name, SOURCE, None, sink, start=start, if_not_exists=if_not_exists
        )
        self.model[name] = Model("RUNNING" if start else "STOPPED")
        self.dropped.discard(name)

    def _expect_missing(self, verb: str, name: str, action) -> None:
        try:
            action()
            raise AssertionError(f"{verb} of a missing pipe succeeded")
        except PipeDroppedError as exc:
            assert name in self.dropped
            assert str(exc) == f"Failed to {verb} pipe {name}, the pipe is already dropped"
        except PipeNotFoundError as exc:
            assert name not in self.dropped
            assert str(exc) == f"Failed to {verb} pipe {name}, the pipe does not exist"

    @rule(name=NAMES)
    def start(self, name: str) -> None:
        if name not in self.model:
            return self._expect_missing("start", name, lambda: self.node.start_pipe(name))
        self.node.start_pipe(name)
        pipe = self.model[name]
        if pipe.state != "RUNNING":
            pipe.state, pipe.by_error, pipe.exceptions = "RUNNING", False, 0

    @rule(name=NAMES)
    def stop(self, name: str) -> None:
        if name not in self.model:
            return self._expect_missing("stop", name, lambda: self.node.stop_pipe(name))
        self.node.stop_pipe(name)
        self.model[name].state = "STOPPED"
        self.model[name].by_error = False

    @rule(name=NAMES, if_exists=st.booleans())
    def drop(self, name: str, if_exists: bool) -> None:
        if name not in self.model:
            if if_exists:
                assert self.node.drop_pipe(name, if_exists=True) is False
                return
            try:
                self.node.drop_pipe(name)
                raise AssertionError("dropped a missing pipe")
            except PipeNotFoundError as exc:
                assert str(exc) == f"Failed to drop pipe {name}. Failures: {name} does not exist."
            return
        assert self.node.drop_pipe(name, if_exists=if_exists)
        del self.model[name]
        self.dropped.add(name)

    @precondition(lambda self: any(p.state == "RUNNING" for p in self.model.values()))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """A plugin of a running pipe raises: the runtime reports it as it always does."""
        running = sorted(n for n, p in self.model.items() if p.state == "RUNNING")
        name = data.draw(st.sampled_from(running))
        task = self.node.pipes.task(name)
        error = PipeRuntimeError(
            name, "sink", "DO-NOTHING-SINK", "connector_transfer_tablet", ValueError("injected")
        )
        self.node.pipes._on_runtime_error(task, error)
        pipe = self.model[name]
        pipe.state, pipe.by_error = "STOPPED", True
        pipe.exceptions = min(pipe.exceptions + 1, 5)

    @rule(name=NAMES, counter=st.sampled_from(["1", "2"]))
    def alter(self, name: str, counter: str) -> None:
        if name not in self.model:
            try:
                self.node.alter_pipe(name, sink={"counter": counter})
                raise AssertionError("altered a missing pipe")
            except PipeNotFoundError:
                return
        self.node.alter_pipe(name, sink={"sink.counter": counter})
        pipe = self.model[name]
        pipe.counter = counter
        if pipe.by_error:  # IoTDB: only a pipe its user stopped stays stopped after ALTER
            pipe.state, pipe.by_error, pipe.exceptions = "RUNNING", False, 0

    @rule()
    def restart_the_process(self) -> None:
        self.node.close()
        self.node = pipecore.Node.open(self.dir, CONFIG, env={})
        self.dropped.clear()  # what was dropped is forgotten: the pipe simply does not exist

    @invariant()
    def matches_the_model(self) -> None:
        infos = {i.name: i for i in self.node.list_pipes()}
        assert list(infos) == sorted(self.model)
        for name, pipe in self.model.items():
            info = infos[name]
            assert info.state == pipe.state, name
            assert info.stopped_by_runtime_exception == pipe.by_error, name
            assert len(info.exceptions) == pipe.exceptions, name
            assert (self.node.pipes.task(name) is not None) == (pipe.state == "RUNNING")
            assert info.sink.get_string_by_keys("sink.counter") == pipe.counter

    @invariant()
    def the_catalog_on_disk_agrees(self) -> None:
        stored = {m.name: m for m in Catalog(self.dir).load_pipes()}
        assert sorted(stored) == sorted(self.model)
        for name, meta in stored.items():
            assert meta.status.name == self.model[name].state
            assert meta.stopped_by_runtime_exception == self.model[name].by_error


TestPipeStateMachine = PipeStateMachine.TestCase
TestPipeStateMachine.settings = settings(max_examples=200, stateful_step_count=15, deadline=None)
