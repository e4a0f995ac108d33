"""The core's "completing transfers later" (docs/hooks.md): a sink's transfer hook returns a
future; the runtime commits in event order as futures complete, bounds what is pending,
retries connection failures and stops the pipe on other failures."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pipecore import Connector, Node, PipeConnectionError, hookimpl
from pipecore.plugin import all_done
from pipecore.testing import plugins as testing_plugins
from pipecore.testing import wait_until

FAST = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02,
    "pipe_auto_restart_enabled": False,
    "pipe_sink_retry_interval_ms": 10,
    "pipe_sink_pending_queue_max_events": 16,
}


class FutureSink(Connector):
    """Completes each event's future on a background thread, in a shuffled order, after
    `delay`; `fail` decides per call whether a future fails (and with what)."""

    calls: ClassVar[list[int]] = []
    done: ClassVar[list[int]] = []
    pending: ClassVar[list[Future]] = []
    handshakes: ClassVar[int] = 0
    hold: ClassVar[threading.Event] = threading.Event()
    fail: ClassVar[Callable[[int], BaseException | None]] = staticmethod(lambda n: None)

    def connector_handshake(self) -> None:
        type(self).handshakes += 1

    def connector_transfer_tablet(self, event: Any) -> Future:
        future: Future = Future()
        n = len(FutureSink.calls)
        FutureSink.calls.append(event.commit_id)
        FutureSink.pending.append(future)
        error = FutureSink.fail(n)

        def complete() -> None:
            FutureSink.hold.wait(30)
            time.sleep(random.random() * 0.003)
            if error is not None:
                future.set_exception(error)
            else:
                FutureSink.done.append(event.commit_id)
                future.set_result(None)

        threading.Thread(target=complete, daemon=True).start()
        return future


class Plugin:
    @hookimpl
    def register_pipe_plugins(self, register: Callable[..., None]) -> None:
        register("sink", "future-sink", FutureSink)


@pytest.fixture(autouse=True)
def reset_sink():
    FutureSink.calls, FutureSink.done, FutureSink.pending = [], [], []
    FutureSink.handshakes = 0
    FutureSink.hold = threading.Event()
    FutureSink.fail = staticmethod(lambda n: None)
    yield
    FutureSink.hold.set()


def open_node(tmp_path: Path) -> Node:
    return Node.open(tmp_path / "node", FAST, plugins=[testing_plugins, Plugin()])


def create(node: Node, points: int = 2000) -> None:
    node.create_pipe(
        "p",
        source={
            "source": "generated-source",
            "source.points": str(points),
            "source.rows-per-tablet": "10",
        },
        sink={"sink": "future-sink"},
    )


def test_completions_in_any_order_commit_in_order(tmp_path):
    FutureSink.hold.set()
    with open_node(tmp_path) as node:
        create(node)
        info = wait_until(
            lambda: (i := node.get_pipe("p")).facts and i.facts.committed_commit_id == 200 and i,
            30,
        )
        assert info.state == "RUNNING"
        assert sorted(FutureSink.done) == list(range(1, 201))
        assert FutureSink.done != sorted(FutureSink.done)  # they did finish out of order
        assert info.facts.transferred_events == 200


def test_pending_futures_are_bounded_and_nothing_commits_early(tmp_path):
    with open_node(tmp_path) as node:
        create(node)
        wait_until(lambda: len(FutureSink.calls) >= 16, 10)
        time.sleep(0.3)
        assert len(FutureSink.calls) == 16  # pipe_sink_pending_queue_max_events
        assert node.get_pipe("p").facts.committed_commit_id == 0
        FutureSink.hold.set()
        wait_until(lambda: node.get_pipe("p").facts.committed_commit_id == 200, 30)


def test_a_connection_failure_is_retried_after_a_handshake(tmp_path):
    FutureSink.fail = staticmethod(lambda n: PipeConnectionError("gone") if n in (3, 4) else None)
    FutureSink.hold.set()
    with open_node(tmp_path) as node:
        create(node, points=200)
        info = wait_until(
            lambda: (i := node.get_pipe("p")).facts and i.facts.committed_commit_id == 20 and i,
            30,
        )
        assert info.state == "RUNNING"
        assert sorted(FutureSink.done) == list(range(1, 21))  # every event done once in the end
        assert len(FutureSink.calls) == 22  # the two failed ones were transferred again
        assert FutureSink.handshakes >= 2  # start + the retry


def test_another_failure_stops_the_pipe_with_its_message(tmp_path):
    FutureSink.fail = staticmethod(lambda n: ValueError("receiver says no") if n == 5 else None)
    FutureSink.hold.set()
    with open_node(tmp_path) as node:
        create(node, points=200)
        info = wait_until(lambda: (i := node.get_pipe("p")).state == "STOPPED" and i, 30)
        assert "receiver says no" in info.exceptions[-1].message
        assert "connector_transfer_tablet" in info.exceptions[-1].message
        assert node.pipes.catalog.load_pipes()[0].commit_id < 6  # nothing past the failure


def test_handshake_connection_error_at_start_is_retried(tmp_path):
    class Flaky(FutureSink):
        def connector_handshake(self) -> None:
            type(self).handshakes += 1
            if type(self).handshakes in (2, 3):  # 1: the check at CREATE; 2: the start
                raise PipeConnectionError("not yet")

    class P:
        @hookimpl
        def register_pipe_plugins(self, register):
            register("sink", "flaky-sink", Flaky)

    FutureSink.hold.set()
    with Node.open(tmp_path / "n", FAST, plugins=[testing_plugins, P()]) as node:
        node.create_pipe(
            "p",
            source={
                "source": "generated-source",
                "source.points": "100",
                "source.rows-per-tablet": "10",
            },
            sink={"sink": "flaky-sink"},
            start=False,
        )
        node.start_pipe("p")  # the handshake fails: the pipe runs and retries
        info = wait_until(
            lambda: node.get_pipe("p").facts.committed_commit_id == 10 and node.get_pipe("p"), 30
        )
        assert info.state == "RUNNING" and Flaky.handshakes >= 4


def test_all_done_combines_futures():
    futures = [Future() for _ in range(3)]
    combined = all_done(futures)
    futures[0].set_result(1)
    futures[2].set_result(3)
    assert not combined.done()
    futures[1].set_result(2)
    assert combined.result(1) is None
    failing = [Future(), Future()]
    combined = all_done(failing)
    failing[1].set_exception(KeyError("k"))
    assert isinstance(combined.exception(1), KeyError)
    failing[0].set_result(None)  # late completions change nothing
    assert all_done([]).done()


def test_a_hook_returning_something_else_stops_the_pipe(tmp_path):
    class Odd(FutureSink):
        def connector_transfer_tablet(self, event):
            return 42

    class P:
        @hookimpl
        def register_pipe_plugins(self, register):
            register("sink", "odd-sink", Odd)

    with Node.open(tmp_path / "n", FAST, plugins=[testing_plugins, P()]) as node:
        node.create_pipe(
            "p",
            source={"source": "generated-source", "source.points": "100"},
            sink={"sink": "odd-sink"},
        )
        info = wait_until(lambda: (i := node.get_pipe("p")).state == "STOPPED" and i, 30)
        assert "expected None or a concurrent.futures.Future" in info.exceptions[-1].message
