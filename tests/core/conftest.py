"""Fixtures of the core tests: nodes in temporary directories, and misbehaving plugins."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pipecore
from pipecore import (
    Connector,
    Event,
    Extractor,
    PipeConnectionError,
    Processor,
    TabletInsertionEvent,
    hookimpl,
)
from pipecore.testing import plugins as testing_plugins

# Fast timings for tests: progress saved every 20 ms, no automatic restarts unless asked.
FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
    "pipe_sink_retry_interval_ms": 5,
}

# Shared by the misbehaving plugins below; keyed by the `behaviour` parameter.
CONTROL: dict[str, Any] = {}


def _param(plugin: Any, key: str, default: str = "") -> str:
    return plugin.parameters.get_string_or_default([f"sink.{key}", f"source.{key}", key], default)


class FailingSink(Connector):
    """Raises ValueError on the n-th tablet (``fail-at``, default 1)."""

    def connector_customize(self, parameters, configuration):
        super().connector_customize(parameters, configuration)
        self.fail_at = int(_param(self, "fail-at", "1"))
        self.seen = 0

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        self.seen += 1
        if self.seen >= self.fail_at:
            raise ValueError(f"boom at tablet {self.seen}")


class HangingSink(Connector):
    """Blocks in transfer until closed (what a sink stuck on a dead socket does)."""

    def connector_customize(self, parameters, configuration):
        super().connector_customize(parameters, configuration)
        self.released = threading.Event()
        CONTROL.setdefault("hanging", []).append(self)

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        self.released.wait(30)

    def connector_close(self) -> None:
        self.released.set()


class FlakySink(Connector):
    """Raises PipeConnectionError on its first ``failures`` transfers, then works."""

    def connector_customize(self, parameters, configuration):
        super().connector_customize(parameters, configuration)
        self.failures = int(_param(self, "failures", "2"))
        self.stats = CONTROL.setdefault(
            _param(self, "name", "flaky"), {"handshakes": 0, "points": 0}
        )

    def connector_handshake(self) -> None:
        self.stats["handshakes"] += 1

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise PipeConnectionError("target unreachable")
        self.stats["points"] += event.tablet.point_count()


class UnreachableSink(Connector):
    def connector_handshake(self) -> None:
        raise PipeConnectionError("cannot connect to 127.0.0.1:1")

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        return None


class RequiringSink(Connector):
    def connector_validate(self, validator) -> None:
        validator.validate_required_attribute("sink.target")

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        return None


class FailingSource(Extractor):
    def extractor_supply(self) -> Event | None:
        raise RuntimeError("source broke")


class FailingProcessor(Processor):
    def processor_process_tablet(self, event, collector) -> None:
        raise KeyError("processor broke")


class SwitchSink(Connector):
    """Raises while CONTROL['switch-fail'] is true (for automatic restart tests)."""

    def connector_handshake(self) -> None:
        if CONTROL.get("switch-fail-handshake"):
            raise RuntimeError("handshake refused")

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if CONTROL.get("switch-fail"):
            raise RuntimeError("switched to fail")


class MisbehavingPlugins:
    @hookimpl
    def register_pipe_plugins(self, register: Callable[..., None]) -> None:
        register("sink", "failing-sink", FailingSink)
        register("sink", "hanging-sink", HangingSink)
        register("sink", "flaky-sink", FlakySink)
        register("sink", "unreachable-sink", UnreachableSink)
        register("sink", "switch-sink", SwitchSink)
        register("sink", "requiring-sink", RequiringSink)
        register("source", "failing-source", FailingSource)
        register("processor", "failing-processor", FailingProcessor)


@pytest.fixture(autouse=True)
def _clean_control() -> Iterator[None]:
    CONTROL.clear()
    yield
    for sink in CONTROL.get("hanging", []):
        sink.released.set()
    CONTROL.clear()


@pytest.fixture
def open_node(tmp_path: Path) -> Iterator[Callable[..., pipecore.Node]]:
    """``open_node(**config_keys)`` opens (or reopens) the node in ``tmp_path / 'node'`` with
    the testing and misbehaving plugins and fast timings; every node is closed at the end."""
    opened: list[pipecore.Node] = []

    def factory(data_dir: Path | None = None, **keys: Any) -> pipecore.Node:
        node = pipecore.Node.open(
            data_dir or tmp_path / "node",
            {**FAST, **keys},
            plugins=[testing_plugins, MisbehavingPlugins()],
        )
        opened.append(node)
        return node

    yield factory
    for node in opened:
        node.close()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        time.sleep(0.005)


@pytest.fixture
def control() -> dict[str, Any]:
    """What the misbehaving plugins share with the test (switches, the hanging sinks)."""
    return CONTROL


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


def generated(points: int, **extra: str) -> dict[str, str]:
    return {"source": "generated-source", "source.points": str(points), **extra}
