"""The thrift plugin on a node: the receiver registered by ``register_rpc_services``, the async
load queue (a node service), the users command, and pipecore's sink conformance kit run on
both thrift sinks."""

from __future__ import annotations

from pathlib import Path

import pytest
from thrift_helpers import SENDER_CLUSTER, Receiver, double_tablet

from pipecore import Node, Origin
from pipecore.testing import ConnectorTests
from pipecore_storage import Store
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink import AsyncLoader, IoTDBThriftAsyncSink, IoTDBThriftSyncSink


def tsfile(path: Path, device: str, rows: int = 100) -> dict:
    tablet = double_tablet(device, 0, rows)
    with TsFileWriter(path) as writer:
        writer.write_tablet(tablet)
    return {device: (0, rows - 1)}


def test_async_load_answers_early_and_loads_in_the_background(tmp_path, open_sink):
    with Node.open(tmp_path / "receiver") as node:
        _host, port = node.serve("127.0.0.1", 0)
        sink = open_sink(
            "iotdb-thrift-sync-sink",
            {"sink.node-urls": f"127.0.0.1:{port}", "sink.load-tsfile-strategy": "async"},
        )
        for i in range(3):
            path = tmp_path / f"{i}.tsfile"
            sink.tsfile(path, tsfile(path, f"root.al.d{i}"))
        pending = node.data_dir / "system" / "pipe" / "load-pending"
        from pipecore.testing import wait_until

        wait_until(lambda: not list(pending.glob("*.tsfile")), 30)
        assert sum(len(node.store.query(f"root.al.d{i}.s0").timestamps) for i in range(3)) == 300
        [f] = [f for f in node.store.sealed_files() if "root.al.d0" in f.device_times]
        assert f.origin == Origin.pipe(SENDER_CLUSTER)


def test_files_queued_before_a_crash_are_loaded_at_the_next_start(tmp_path):
    folder = tmp_path / "pending"
    src = tmp_path / "x.tsfile"
    tsfile(src, "root.left.d1", 50)
    with Store.open(tmp_path / "store") as store:
        first = AsyncLoader(store, folder)  # never started: as if the node died at once
        first.submit(src, None, Origin.pipe("c1"), verify=True)
        assert not src.exists() and len(list(folder.glob("*.tsfile"))) == 1
        second = AsyncLoader(store, folder)
        second.start()
        try:
            assert second.wait_idle(30)
        finally:
            second.stop()
        assert len(store.query("root.left.d1.s0").timestamps) == 50
        assert not list(folder.glob("*.tsfile*"))


def test_a_file_that_cannot_load_goes_aside(tmp_path):
    folder = tmp_path / "pending"
    bad = tmp_path / "bad.tsfile"
    bad.write_bytes(b"TsFile\x04 this is no TsFile")
    with Store.open(tmp_path / "store") as store:
        loader = AsyncLoader(store, folder)
        loader.start()
        try:
            loader.submit(bad, None, Origin.pipe("c1"), verify=True)
            assert loader.wait_idle(30)
        finally:
            loader.stop()
        assert [p.name.split("-", 1)[1] for p in (folder / "failed").glob("*.tsfile")] == [
            "bad.tsfile"
        ]


class _KitBase(ConnectorTests):
    """The conformance kit against a receiver started for each test."""

    pipe_points = 20_000

    @pytest.fixture(autouse=True)
    def _receiver(self, tmp_path):
        self.receiver = Receiver(tmp_path, "kit")
        yield
        self.receiver.close()

    def sink_parameters(self, tmp_path):
        return {"sink.node-urls": self.receiver.url, "sink.batch.max-delay-ms": "10"}

    def read_back(self, parameters):
        return _as_tablets(self.receiver.store)


def _as_tablets(store):
    """Every device of `store` as one tablet (what the kit compares with what it sent), its
    measurements in the order the kit's sample tablets have them."""
    from pipecore.testing.conformance import sample_tablets
    from pipecore_storage import Tablet

    order = {t.device: t.measurements for t in sample_tablets()}
    out = []
    devices = sorted({s.device for s in store.list_series("root.**")})
    for device in devices:
        series = [s for s in store.list_series("root.**") if s.device == device]
        rank = order.get(device, sorted(s.measurement for s in series))
        series.sort(key=lambda s: rank.index(s.measurement) if s.measurement in rank else 99)
        result = store.query([s.path for s in series])
        out.append(
            Tablet(
                device,
                [s.schema for s in series],
                result.timestamps,
                list(result.values),
                list(result.null_masks),
                series[0].aligned,
            )
        )
    return out


class TestSyncSinkKit(_KitBase):
    plugin_class = IoTDBThriftSyncSink
    plugin_name = "iotdb-thrift-sync-sink"


class TestAsyncSinkKit(_KitBase):
    plugin_class = IoTDBThriftAsyncSink
    plugin_name = "iotdb-thrift-sink"


def test_demo_runs_over_the_thrift_sink(tmp_path):
    """``pipecore demo`` (issue 7 item 4): two nodes, the seed's data through the real thrift
    sink over loopback, identical on both sides."""
    import io

    from pipecore.cli.demo import run_demo

    out = io.StringIO()
    assert run_demo(str(tmp_path / "demo"), timeout=30, out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "iotdb-source -> iotdb-thrift-sink over loopback to 127.0.0.1:" in text
    assert "identical: 6 rows on both sides" in text


@pytest.mark.parametrize("sink", ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"])
@pytest.mark.parametrize("mods", ["false", "true"])
def test_deleted_history_is_not_resurrected(tmp_path, sink, mods):
    """A sealed file with deletions goes with them (its .mods, or the deletions the source
    recorded), whether or not the source sends mods; the receiver ends with what is left."""
    from pipecore.testing import wait_until

    fast = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.05}
    with Node.open(tmp_path / "r", fast) as receiver, Node.open(tmp_path / "s", fast) as sender:
        _host, port = receiver.serve("127.0.0.1", 0)
        values = ", ".join(f"({t}, {t}, {t})" for t in range(100))
        sender.execute(f"insert into root.del.d1(timestamp, s0, s1) values {values}")
        sender.execute("flush")
        sender.execute("delete from root.del.d1.s0 where time >= 10 and time <= 19")
        sender.create_pipe(
            "p",
            source={"source": "iotdb-source", "source.mods.enable": mods},
            sink={"sink": sink, "sink.node-urls": f"127.0.0.1:{port}"},
        )

        def points(path):
            result = receiver.store.query(path)
            return len(result.series(path)[0]) if path in result.columns else 0

        wait_until(lambda: points("root.del.d1.s1") == 100, 30)
        times, _ = receiver.store.query("root.del.d1.s0").series("root.del.d1.s0")
        assert len(times) == 90 and not set(range(10, 20)) & set(times.tolist())


def test_a_bad_white_list_fails_serve_naming_the_key(tmp_path):
    from pipecore import ConfigError

    config = {"ip_white_list": "127.0.0.1/32, not-a-network"}
    with (
        Node.open(tmp_path / "n", config) as node,
        pytest.raises(ConfigError, match=r"ip_white_list.*not-a-network"),
    ):
        node.serve("127.0.0.1", 0)
