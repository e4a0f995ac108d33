"""Helpers of the metrics tests: nodes with the endpoint on, scraping and parsing /metrics with
``prometheus_client``'s own parser."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from pipecore import Node
from pipecore.server.metrics_http import MetricsEndpoint, metrics_endpoint

ON = {"metric_reporter_list": "JMX,PROMETHEUS", "metric_prometheus_reporter_port": 0}


@contextmanager
def serving_node(
    path: Path, config: Mapping[str, Any] | None = None, plugins: tuple = ()
) -> Iterator[tuple[Node, MetricsEndpoint]]:
    """A node serving on free ports with its metrics endpoint on."""
    with Node.open(path, {**ON, **(config or {})}, plugins=plugins, env={}) as node:
        node.serve("127.0.0.1", 0)
        endpoint = metrics_endpoint(node)
        assert endpoint is not None
        yield node, endpoint


def get(url: str) -> tuple[int, str]:
    """(status, body) of a GET; error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Scrape:
    """One scrape of /metrics, parsed: ``scrape.value(sample_name, **labels)``."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        status, self.text = get(endpoint.url + "/metrics")
        assert status == 200, self.text
        self.samples = [
            sample
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        ]
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}

    def values(self, metric: str, /, **labels: str) -> list[float]:
        return [
            s.value
            for s in self.samples
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, metric: str, /, **labels: str) -> float:
        found = self.values(metric, **labels)
        assert len(found) == 1, f"{metric}{labels}: {found}"
        return found[0]

    def total(self, metric: str, /, **labels: str) -> float:
        return sum(self.values(metric, **labels))
