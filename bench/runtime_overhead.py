"""Per-event overhead of the pipe runtime, with do-nothing stages.

    python bench/runtime_overhead.py [--events 200000] [--repeat 3] [--metrics]

A source hands out one-row tablet events as fast as it can; the processor is
`do-nothing-processor`, the sink `do-nothing-sink`. Measured in the same run:

* reference — the same plugin calls in a plain Python loop (supply → process → transfer), no
  framework: what the plugins themselves cost;
* pipe — a real pipe on a node: per-stage plugin managers, the bounded queue, the worker pool,
  commit ids and the in-order committer, progress bookkeeping.

The framework's overhead is (pipe − reference) / events. The goal is ≤ 10 µs per event on a
2-core machine. Results go to docs/performance.md.

With ``--metrics`` the pipe's node also serves its Prometheus endpoint
(``metric_reporter_list = PROMETHEUS``) and a thread scrapes ``/metrics`` every
``--scrape-interval`` seconds while the pipe runs (the goal: within 20 % of the run without).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable

import numpy as np

import pipecore
from pipecore import Extractor, MeasurementSchema, Tablet, TabletInsertionEvent, hookimpl
from pipecore.builtin import DoNothingProcessor, DoNothingSink

TABLET = Tablet("root.bench.d", [MeasurementSchema("s", "DOUBLE")], np.arange(1), [np.zeros(1)])


class BenchSource(Extractor):
    events = 0

    def extractor_customize(self, parameters, configuration) -> None:
        self.left = BenchSource.events

    def extractor_supply(self) -> TabletInsertionEvent | None:
        if self.left <= 0:
            return None
        self.left -= 1
        return TabletInsertionEvent(TABLET)


class BenchPlugins:
    @hookimpl
    def register_pipe_plugins(self, register: Callable[..., None]) -> None:
        register("source", "bench-source", BenchSource)


class _ListCollector(list):
    collect = list.append


def pipe(events: int, metrics: bool = False, scrape_interval: float = 1.0) -> float:
    """A real pipe; the time from CREATE PIPE until the last event is committed."""
    BenchSource.events = events
    config = (
        {"metric_reporter_list": "PROMETHEUS", "metric_prometheus_reporter_port": 0}
        if metrics
        else None
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        pipecore.Node.open(tmp, config, plugins=[BenchPlugins()], env={}) as node,
        _scraping(node, metrics, scrape_interval),
    ):
        started = time.perf_counter()
        node.create_pipe(
            "bench",
            {"source": "bench-source"},
            {"processor": "do-nothing-processor"},
            {"sink": "do-nothing-sink"},
        )
        task = node.pipes.task("bench")
        assert task is not None
        while task.committer.committed_id < events:
            time.sleep(0.0005)
        return time.perf_counter() - started


class _scraping:
    """With metrics: serve the node and scrape /metrics every `interval` seconds."""

    def __init__(self, node: pipecore.Node, on: bool, interval: float) -> None:
        self.node, self.on, self.interval = node, on, interval
        self.stop = threading.Event()
        self.scrapes = 0

    def __enter__(self) -> _scraping:
        if self.on:
            from pipecore.server.metrics_http import metrics_endpoint

            self.node.serve("127.0.0.1", 0)
            endpoint = metrics_endpoint(self.node)
            assert endpoint is not None
            url = endpoint.url + "/metrics"

            def loop() -> None:
                while not self.stop.wait(self.interval):
                    urllib.request.urlopen(url, timeout=10).read()
                    self.scrapes += 1

            self.thread = threading.Thread(target=loop, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.on:
            self.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--metrics", action="store_true", help="serve and scrape /metrics")
    parser.add_argument("--scrape-interval", type=float, default=1.0, help="seconds")
    args = parser.parse_args()
    n = args.events
    ref = min(reference(n) for _ in range(args.repeat))
    run = min(pipe(n, args.metrics, args.scrape_interval) for _ in range(args.repeat))
    if args.metrics:
        print(f"metrics endpoint on, scraped every {args.scrape_interval} s")
    overhead_us = (run - ref) / n * 1e6
    print(f"events            {n:,} (best of {args.repeat}), {os.cpu_count()} cores")
    print(f"reference loop    {ref / n * 1e6:7.2f} µs/event  {n / ref:12,.0f} events/s")
    print(f"pipe              {run / n * 1e6:7.2f} µs/event  {n / run:12,.0f} events/s")
    print(f"ratio pipe/ref    {run / ref:7.1f}x")
    verdict = "meets" if overhead_us <= 10 else "MISSES"
    print(f"framework overhead {overhead_us:6.2f} µs/event ({verdict} the 10 µs goal)")


def reference(n: int) -> float:
    """The plugins' own cost: the same calls in a loop, no framework."""
    BenchSource.events = n
    source, processor, sink = BenchSource(), DoNothingProcessor(), DoNothingSink()
    source.extractor_customize(None, None)
    collector = _ListCollector()
    started = time.perf_counter()
    while (event := source.extractor_supply()) is not None:
        processor.processor_process_tablet(event, collector)
        sink.connector_transfer_tablet(collector.pop())
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
