"""``connector_flush``: when the runtime stops feeding the sink — its queue is empty, or as
many transfers are pending as the queue holds — a sink holding events back is told to send
them, so that nothing waits for a batch delay that can gather nothing more."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path
from typing import ClassVar

import pipecore
from pipecore import Connector, Extractor, TabletInsertionEvent, hookimpl
from pipecore.testing import plugins


class Rows(Extractor):
    """Supplies ``source.rows`` one-row tablets at once, then nothing."""

    def extractor_customize(self, parameters, configuration) -> None:
        self.left = parameters.get_int_or_default("source.rows", 50)
        self.t = 0

    def extractor_supply(self):
        if self.left == 0:
            return None
        self.left -= 1
        self.t += 1
        schema = pipecore.MeasurementSchema("s", pipecore.TSDataType.INT64)
        return TabletInsertionEvent(pipecore.Tablet("root.f.d", [schema], [self.t], [[self.t]]))


class Holding(Connector):
    """Holds every tablet's future (a batch with no time limit) until ``connector_flush``;
    with ``sink.sync=true`` it completes each transfer at once instead."""

    flushes: ClassVar[list[int]] = []  # how many futures each flush completed
    held_at_most: ClassVar[list[int]] = [0]

    def connector_customize(self, parameters, configuration) -> None:
        self.sync = parameters.get_boolean_or_default("sink.sync", False)
        self.held: list[Future[None]] = []
        self.lock = threading.Lock()

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None] | None:
        if self.sync:
            return None
        future: Future[None] = Future()
        with self.lock:
            self.held.append(future)
            Holding.held_at_most[0] = max(Holding.held_at_most[0], len(self.held))
        return future

    def connector_flush(self) -> None:
        with self.lock:
            held, self.held = self.held, []
        Holding.flushes.append(len(held))
        for future in held:
            future.set_result(None)


class FlushPlugins:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("source", "rows-source", Rows)
        register("sink", "holding-sink", Holding)


def _run(tmp_path: Path, wait, rows: int, sink: dict[str, str], **config) -> pipecore.Node:
    Holding.flushes, Holding.held_at_most = [], [0]
    node = pipecore.Node.open(tmp_path, config, plugins=[FlushPlugins(), plugins])
    node.create_pipe(
        "f",
        {"source": "rows-source", "source.rows": str(rows)},
        None,
        {"sink": "holding-sink", **sink},
    )
    if sink.get("sink.sync") == "true":
        wait(lambda: node.get_pipe("f").facts.transferred_events >= rows)
    else:
        wait(lambda: sum(Holding.flushes) == rows)
    return node


def test_a_full_pending_bound_is_flushed_instead_of_stalling(tmp_path: Path, wait) -> None:
    """Eight pending transfers fill the bound: without a flush the pipe would wait forever
    (here) or for the batch delay (a batching sink) every eight events."""
    with _run(tmp_path, wait, 200, {}, pipe_sink_pending_queue_max_events=8) as node:
        assert node.get_pipe("f").exceptions == ()
    assert Holding.held_at_most[0] <= 8
    assert sum(Holding.flushes) == 200
    assert len(Holding.flushes) >= 200 // 8


def test_an_empty_queue_flushes_what_the_sink_holds(tmp_path: Path, wait) -> None:
    with _run(tmp_path, wait, 3, {}) as node:
        assert node.get_pipe("f").exceptions == ()
    assert sum(Holding.flushes) == 3
    assert all(n > 0 for n in Holding.flushes)  # called only when something is held


def test_a_sink_that_completes_at_once_is_not_flushed(tmp_path: Path, wait) -> None:
    with _run(tmp_path, wait, 20, {"sink.sync": "true"}):
        pass
    assert Holding.flushes == []
