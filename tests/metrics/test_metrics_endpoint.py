"""The node's /metrics, /health and /ready (docs/operations.md): a pipe between two real nodes
over the thrift sink, both endpoints scraped over HTTP and parsed with prometheus_client's
parser."""

from __future__ import annotations

import numpy as np
import pytest
from metrics_helpers import Scrape, get, serving_node
from prometheus_client.core import CounterMetricFamily

from pipecore import ConfigError, MeasurementSchema, Node, Tablet, hookimpl
from pipecore.server.metrics_http import metrics_endpoint
from pipecore.testing import wait_until

POINTS_PER_TABLET = 3 * 200


def _tablet(device: str, start: int, rows: int = 200) -> Tablet:
    times = np.arange(start, start + rows, dtype=np.int64)
    schemas = [MeasurementSchema(f"s{j}", "DOUBLE") for j in range(3)]
    columns = [times.astype(np.float64) * (j + 1) for j in range(3)]
    masks = [None, None, np.zeros(rows, dtype=bool)]
    return Tablet(device, schemas, times, columns, masks)


def test_the_endpoint_is_off_by_default(tmp_path):
    with Node.open(tmp_path, env={}) as node:
        node.serve("127.0.0.1", 0)
        assert metrics_endpoint(node) is None


def test_a_reporter_iotdb_does_not_know_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="metric_reporter_list"):
        Node.open(tmp_path, {"metric_reporter_list": "PROMETHEUS,GRAPHITE"}, env={})


def test_a_pipe_between_two_nodes_is_seen_on_both_endpoints(tmp_path):
    with (
        serving_node(tmp_path / "b") as (receiver, b_metrics),
        serving_node(tmp_path / "a") as (sender, a_metrics),
    ):
        assert get(a_metrics.url + "/health") == (200, "OK\n")
        port = receiver.address[1]
        sender.create_pipe(
            "a2b",
            source={"source": "iotdb-source"},
            sink={"sink": "iotdb-thrift-sink", "sink.node-urls": f"127.0.0.1:{port}"},
        )
        for i in range(5):
            sender.store.insert_tablet(_tablet(f"root.m.d{i % 2}", i * 1000))
        expected = 5 * POINTS_PER_TABLET
        wait_until(
            lambda: Scrape(b_metrics).total("pipecore_receiver_points_total") >= expected, 30
        )
        wait_until(lambda: sender.get_pipe("a2b").remaining_event_count == 0, 30)

        a, b = Scrape(a_metrics), Scrape(b_metrics)
        pipe = {"name": "a2b", "creation_time": str(sender.get_pipe("a2b").creation_time)}
        assert a.value("pipecore_pipe_transferred_points_total", **pipe) == expected
        assert a.value("pipecore_pipe_received_points_total", **pipe) == expected
        assert a.value("pipe_connector_tablet_transfer_total", **pipe) == 5
        assert a.value("pipe_extractor_tablet_supply_total", **pipe) == 5
        assert a.value("pipecore_pipe_transferred_bytes_total", **pipe) > 5 * 200 * 8 * 3
        assert a.value("pipe_datanode_remaining_event_count", **pipe) == 0
        assert a.value("pipe_datanode_remaining_time", **pipe) == 0
        assert a.value("pipecore_pipe_remaining_points", **pipe) == 0
        assert a.value("pipecore_pipe_lag_seconds", **pipe) < 5
        assert a.value("pipecore_pipe_sink_connected", **pipe) == 1
        assert a.value("pipecore_pipe_state", state="RUNNING", **pipe) == 1
        assert a.value("pipe_task_status", status="running") == 1
        assert a.value("pipecore_pipe_transfer_latency_seconds_count", **pipe) == 5
        assert a.value("pipecore_pipe_transfer_latency_seconds_bucket", le="+Inf", **pipe) == 5
        assert a.families["pipecore_pipe_transfer_latency_seconds"].type == "histogram"
        # the store's figures: the sender wrote the WAL (and fsynced it: wal_mode SYNC)
        assert a.value("pipecore_store_wal_bytes_total") > 0
        assert a.value("pipecore_store_wal_fsyncs_total") > 0
        assert a.value("pipecore_store_memtable_points") == expected
        # process figures from prometheus_client's ProcessCollector and ours
        assert a.value("process_resident_memory_bytes") > 0
        assert a.value("process_open_fds") > 0
        assert a.value("pipecore_process_threads", kind="os") >= 2
        # the receiver: every point, by request type with IoTDB's names
        assert b.value("pipecore_receiver_points_total", transport="thrift") == expected
        handshakes = b.value(
            "pipe_datanode_receiver_seconds_count", type="handshakeDataNodeV2", transport="thrift"
        )
        assert handshakes >= 2  # CREATE PIPE's check and the running sink
        data = b.total("pipe_datanode_receiver_seconds_count", transport="thrift") - handshakes
        assert data >= 1
        assert b.value("pipecore_receiver_connections", transport="thrift") >= 1
        assert get(a_metrics.url + "/ready") == (200, "ready\n")

        # FLUSH seals the memtable: the store's flush figures move
        sender.execute("FLUSH")
        a = Scrape(a_metrics)
        assert a.value("pipecore_store_flushes_total") >= 1
        assert a.value("pipecore_store_sealed_files") >= 1
        assert a.value("pipecore_store_memtable_points") == 0


def test_a_refused_handshake_is_counted_by_reason(tmp_path):
    with (
        serving_node(tmp_path / "b") as (receiver, b_metrics),
        Node.open(tmp_path / "a", env={}) as sender,
    ):
        port = receiver.address[1]
        with pytest.raises(Exception, match=r"(?i)password|login|user"):
            sender.create_pipe(
                "bad",
                sink={
                    "sink": "iotdb-thrift-sink",
                    "sink.node-urls": f"127.0.0.1:{port}",
                    "sink.password": "not-the-password",
                },
            )
        scrape = Scrape(b_metrics)
        assert scrape.value("pipecore_receiver_refused_handshakes_total", reason="login") == 1
        failed = scrape.values(
            "pipecore_receiver_failed_requests_total", type="handshakeDataNodeV2"
        )
        assert sum(failed) == 1


def test_a_sink_that_lost_its_target_makes_the_node_unready(tmp_path):
    receiver = Node.open(tmp_path / "b", env={})
    try:
        port = receiver.serve("127.0.0.1", 0)[1]
        with serving_node(tmp_path / "a", {"pipe_sink_retry_interval_ms": 50}) as (
            sender,
            a_metrics,
        ):
            sender.create_pipe(
                "a2b",
                source={"source": "iotdb-source"},
                sink={"sink": "iotdb-thrift-sink", "sink.node-urls": f"127.0.0.1:{port}"},
            )
            sender.store.insert_tablet(_tablet("root.m.d0", 0))
            wait_until(lambda: sender.get_pipe("a2b").remaining_event_count == 0, 30)
            receiver.close()
            sender.store.insert_tablet(_tablet("root.m.d0", 10_000))
            _status, body = wait_until(
                lambda: (r := get(a_metrics.url + "/ready"))[0] == 503 and r, 30
            )
            assert "pipe a2b: its sink is not connected" in body
            scrape = Scrape(a_metrics)
            pipe = {"name": "a2b"}
            assert scrape.value("pipecore_pipe_retries_total", **pipe) >= 1
            assert scrape.total("pipecore_pipe_errors_total", status="connection", **pipe) >= 1
            assert scrape.value("pipecore_pipe_sink_connected", **pipe) == 0
            assert scrape.value("pipe_datanode_remaining_event_count", **pipe) >= 1
            assert get(a_metrics.url + "/health")[0] == 200
    finally:
        receiver.close()


class _PluginMetrics:
    """A third-party plugin adding its own metric through the register_metrics hook."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def register_metrics(self, registry, node):
        plugin = self

        class Collector:
            def collect(self):
                plugin.calls += 1
                family = CounterMetricFamily("myplugin_things", "Things my plugin did")
                family.add_metric([], 42)
                yield family

        registry.register(Collector())


def test_a_plugin_adds_its_metrics_through_the_hook(tmp_path):
    plugin = _PluginMetrics()
    with serving_node(tmp_path, plugins=(plugin,)) as (_node, endpoint):
        before = plugin.calls
        assert Scrape(endpoint).value("myplugin_things_total") == 42
        assert plugin.calls > before  # read at scrape time


def test_unknown_paths_are_404_and_health_goes_503_never(tmp_path):
    with serving_node(tmp_path) as (_node, endpoint):
        assert get(endpoint.url + "/nope")[0] == 404
        assert get(endpoint.url + "/ready") == (200, "ready\n")
