"""A sink whose transfers return futures that fail with a connection error (a receiver that
takes connections but loses every transfer): the runtime retries them after the same growing
back-off as a synchronous failure, counts the retries in the live outage (SHOW PIPES'
ExceptionMessage), and clears the outage once a transfer completes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import ClassVar

import pipecore
from pipecore import Connector, Extractor, TabletInsertionEvent, hookimpl
from pipecore.testing import plugins

FAILURES = 4  # transfers that fail before the receiver is back
INTERVAL_MS = 100  # pipe_sink_retry_interval_ms: the n-th retry waits n × 0.1 s


class OneRow(Extractor):
    def extractor_customize(self, parameters, configuration) -> None:
        self.sent = False

    def extractor_supply(self):
        if self.sent:
            return None
        self.sent = True
        schema = pipecore.MeasurementSchema("s", pipecore.TSDataType.INT64)
        return TabletInsertionEvent(pipecore.Tablet("root.r.d", [schema], [1], [[1]]))


class Flaky(Connector):
    """Every transfer returns a future; the first FAILURES fail with a ConnectionError."""

    attempts: ClassVar[list[float]] = []

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None]:
        future: Future[None] = Future()
        Flaky.attempts.append(time.monotonic())
        failed = len(Flaky.attempts) <= FAILURES

        def complete() -> None:  # on another thread, as a real sink's sender does
            if failed:
                future.set_exception(ConnectionError("receiver lost the transfer"))
            else:
                future.set_result(None)

        threading.Timer(0.01, complete).start()
        return future


class RetryPlugins:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("source", "one-row-source", OneRow)
        register("sink", "flaky-async-sink", Flaky)


def test_failed_futures_back_off_and_count_in_the_outage(tmp_path: Path, wait) -> None:
    Flaky.attempts = []
    seen: list[int] = []
    config = {"pipe_sink_retry_interval_ms": INTERVAL_MS}
    with pipecore.Node.open(tmp_path, config, plugins=[RetryPlugins(), plugins]) as node:
        node.create_pipe("r", {"source": "one-row-source"}, None, {"sink": "flaky-async-sink"})

        def delivered() -> bool:
            facts = node.get_pipe("r").facts
            if facts.outage is not None:
                seen.append(facts.outage.retries)
            return facts.transferred_events == 1

        wait(delivered, 30)
        assert node.get_pipe("r").facts.outage is None  # cleared by the completed transfer
    assert len(Flaky.attempts) == FAILURES + 1
    gaps = [b - a for a, b in zip(Flaky.attempts, Flaky.attempts[1:], strict=False)]
    # the n-th retry waits n × INTERVAL_MS (a little less is timer slack)
    for n, gap in enumerate(gaps, 1):
        assert gap >= 0.9 * n * INTERVAL_MS / 1000, (n, gaps)
    assert max(seen, default=0) >= FAILURES - 1, seen  # the count grew, never reset
