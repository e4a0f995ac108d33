"""How the sinks react to a receiver's statuses (reference §3.12, §7.6, §7.7), and the async
sink's ordering: writes to the same series and time never overtake each other."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest
from thrift_helpers import double_tablet

from pipecore import Config
from pipecore.rpc import PipeTransferResponse, Status
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_thrift_sink import ThriftSinkSection
from pipecore_thrift_sink.protocol import PipeRequestType

FAST_RETRY = Config.load(
    env={}, sections=[ThriftSinkSection], overrides={"pipe_sink_retry_interval_ms": 20}
)
DATA = (PipeRequestType.TRANSFER_TABLET_RAW, PipeRequestType.TRANSFER_TABLET_BATCH)


class Scripted:
    """Answers the first data requests with the given codes (then lets them through)."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.seen: list[int] = []
        self.handshakes = 0
        self.lock = threading.Lock()

    def wrap(self, inner):
        script = self

        class Receiver:
            def transfer(self, version, type_, body):
                if type_ == PipeRequestType.HANDSHAKE_DATANODE_V2:
                    script.handshakes += 1
                if type_ in DATA:
                    with script.lock:
                        code = script.codes.pop(0) if script.codes else None
                        script.seen.append(code or 200)
                    if code is not None:
                        return PipeTransferResponse(Status(code, f"scripted {code}"))
                return inner.transfer(version, type_, body)

            def close(self):
                inner.close()

        return Receiver()


def run(sink_name, receiver, open_sink, codes, params=None):
    script = Scripted(codes)
    receiver.wrap = script.wrap
    sink = open_sink(
        sink_name,
        {"sink.node-urls": receiver.url, "sink.batch.enable": "false", **(params or {})},
        node_config=FAST_RETRY,
    )
    started = time.monotonic()
    sink.tablet(double_tablet("root.st.d1", 0, 10))
    return script, time.monotonic() - started


def test_temporarily_unavailable_is_retried_until_it_goes(sink_name, receiver, open_sink):
    script, _ = run(sink_name, receiver, open_sink, [1808, 1808, 1808])
    assert script.seen == [1808, 1808, 1808, 200]
    assert receiver.points() == 30


def test_idempotent_conflict_counts_as_done(sink_name, receiver, open_sink):
    script, _ = run(sink_name, receiver, open_sink, [1809])
    assert script.seen == [1809] and receiver.points() == 0


def test_conflicts_follow_the_strategy(sink_name, receiver, open_sink):
    script, _ = run(
        sink_name,
        receiver,
        open_sink,
        [1810],
        {"sink.exception.conflict.resolve-strategy": "ignore"},
    )
    assert script.seen == [1810] and receiver.points() == 0  # dropped at once


def test_conflict_retries_stop_after_their_time(sink_name, receiver, open_sink):
    script, elapsed = run(
        sink_name,
        receiver,
        open_sink,
        [1815] * 1000,
        {"sink.exception.conflict.retry-max-time-seconds": "0.3"},
    )
    assert len(script.seen) >= 3 and set(script.seen) == {1815}
    assert 0.3 <= elapsed < 5 and receiver.points() == 0


def test_other_errors_retry_as_configured(sink_name, receiver, open_sink):
    script, _elapsed = run(
        sink_name,
        receiver,
        open_sink,
        [1107, 1107, 1107],
        {"sink.exception.others.retry-max-time-seconds": "-1"},
    )
    assert script.seen == [1107, 1107, 1107, 200] and receiver.points() == 30
    script, _ = run(
        sink_name,
        receiver,
        open_sink,
        [1100] * 1000,
        {"sink.exception.others.retry-max-time-seconds": "0.2"},
    )
    assert set(script.seen) == {1100}


def test_handshake_needed_reconnects(sink_name, receiver, open_sink):
    from pipecore import PipeConnectionError

    script = Scripted([1811])
    receiver.wrap = script.wrap
    sink = open_sink(
        sink_name,
        {"sink.node-urls": receiver.url, "sink.batch.enable": "false"},
        node_config=FAST_RETRY,
    )
    try:
        sink.tablet(double_tablet("root.hs.d1", 0, 10))
    except PipeConnectionError:  # the sync sink hands it to the runtime: handshake, retry
        sink.stage.call["connector_handshake"]()
        sink.tablet(double_tablet("root.hs.d1", 0, 10))
    assert script.handshakes >= 2 and receiver.points() == 30


def test_async_sink_keeps_overlapping_writes_in_order(receiver, open_sink):
    """Each tablet rewrites the same series and times with a new value; with four
    connections and a receiver that answers after random delays, the last value wins."""
    active = [0]
    peak = [0]
    lock = threading.Lock()

    def wrap(inner):
        class Slow:
            def transfer(self, version, type_, body):
                if type_ in DATA:
                    with lock:
                        active[0] += 1
                        peak[0] = max(peak[0], active[0])
                    time.sleep(random.random() * 0.01)
                    try:
                        return inner.transfer(version, type_, body)
                    finally:
                        with lock:
                            active[0] -= 1
                return inner.transfer(version, type_, body)

            def close(self):
                inner.close()

        return Slow()

    receiver.wrap = wrap
    sink = open_sink(
        "iotdb-thrift-async-sink", {"sink.node-urls": receiver.url, "sink.batch.enable": "false"}
    )
    times = np.arange(20, dtype=np.int64)
    futures = []
    for value in range(40):
        same = Tablet(
            "root.order.d1", [MeasurementSchema("s", "INT64")], times, [times * 0 + value]
        )
        other = double_tablet(f"root.order.x{value}", 0, 5, series=1)  # independent writes
        futures += [sink.tablet(same, wait=False), sink.tablet(other, wait=False)]
    for future in futures:
        future.result(30)
    _, values = receiver.store.query("root.order.d1.s").series("root.order.d1.s")
    assert list(values) == [39] * 20
    assert peak[0] >= 2  # the independent writes did run side by side


@pytest.mark.parametrize("batch", ["true", "false"])
def test_close_does_not_wait_for_a_receiver_that_never_answers(
    sink_name, receiver, open_sink, batch
):
    release = threading.Event()

    def wrap(inner):
        class Silent:
            def transfer(self, version, type_, body):
                if type_ in DATA:
                    release.wait(30)
                return inner.transfer(version, type_, body)

            def close(self):
                inner.close()

        return Silent()

    receiver.wrap = wrap
    sink = open_sink(
        sink_name,
        {
            "sink.node-urls": receiver.url,
            "sink.batch.enable": batch,
            "sink.batch.max-delay-ms": "1",
        },
    )
    outcome: list = []
    worker = threading.Thread(
        target=lambda: outcome.append(_try(lambda: sink.tablet(double_tablet("root.h.d", 0, 5)))),
        daemon=True,
    )
    worker.start()
    time.sleep(0.3)  # the request is on the wire, unanswered
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started < 8
    worker.join(10)
    release.set()
    assert not worker.is_alive() and outcome and isinstance(outcome[0], Exception)


def _try(fn):
    try:
        return fn()
    except Exception as exc:
        return exc
