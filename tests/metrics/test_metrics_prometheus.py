"""A real Prometheus server scrapes a node's endpoint; PromQL answers with the pipe's
transferred points."""

from __future__ import annotations

import pytest
from metrics_helpers import serving_node
from prometheus_server import Prometheus, prometheus_binary

from pipecore.testing import plugins, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

POINTS = 12_000


def test_prometheus_scrapes_the_pipes_transferred_points(tmp_path):
    binary = prometheus_binary()
    plugins.reset("prom")
    with serving_node(tmp_path / "node", plugins=(plugins,)) as (node, endpoint):
        host, port = endpoint.address
        server = Prometheus(binary, tmp_path / "prometheus", [f"{host}:{port}"])
        try:
            server.wait_ready()
            node.create_pipe(
                "to_prom",
                source={
                    "source": "generated-source",
                    "source.points": str(POINTS),
                    "source.measurements": "3",
                    "source.rows-per-tablet": "400",
                },
                sink={"sink": "counting-sink", "sink.counter": "prom"},
            )
            counts = plugins.counts("prom")
            wait_until(lambda: counts.points >= POINTS, 30)
            promql = 'pipecore_pipe_transferred_points_total{name="to_prom"}'

            def scraped() -> list:
                result = server.query(promql)
                return result if result and float(result[0]["value"][1]) == POINTS else []

            [sample] = wait_until(scraped, 60)
            assert sample["metric"]["job"] == "pipecore"
            assert sample["metric"]["creation_time"] == str(node.get_pipe("to_prom").creation_time)
            assert float(sample["value"][1]) == POINTS == counts.points
            [up] = server.query('up{job="pipecore"}')
            assert up["value"][1] == "1"
        finally:
            server.stop()
