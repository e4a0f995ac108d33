"""Transport tests run against every implementation (`link`): the thrift sink in plain text,
the SSL sink over TLS, the air-gap sink over its framing — each against pipecore's receiver on
that transport, in process (real sockets, real store, real certificates)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from thrift_helpers import SENDER_CLUSTER, assert_same_points, double_tablet

from pipecore import Origin
from pipecore.testing.conformance import sample_tablets
from pipecore_storage import Tablet
from pipecore_storage.tsfile import TsFileWriter


def write_tsfile(path: Path, tablets: list[Tablet], version: int = 4) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    with TsFileWriter(path, format_version=version) as writer:
        for tablet in tablets:
            writer.write_tablet(tablet)
    return {t.device: (int(t.timestamps.min()), int(t.timestamps.max())) for t in tablets}


def test_tablets_of_every_type_arrive_exactly(link, sinks):
    sink = sinks(link.sink_name, link.params(**{"sink.batch.max-delay-ms": "10"}))
    subscription = link.receiver.store.subscribe("watch")
    tablets = sample_tablets()
    for tablet in tablets:
        sink.tablet(tablet)
    for tablet in tablets:
        assert_same_points(link.receiver.store, tablet)
    events = subscription.drain(100)
    assert events and {e.origin for e in events} == {Origin.pipe(SENDER_CLUSTER)}
    [conn] = link.receiver.registry.list()
    transport = "air-gap" if link.transport == "air-gap" else "thrift"
    assert (conn.transport, conn.cluster_id) == (transport, SENDER_CLUSTER)
    assert conn.points == sum(t.point_count() for t in tablets)


@pytest.mark.parametrize("wanted", ["auto", "4"])
def test_tsfiles_with_deletions_arrive(link, sinks, tmp_path, wanted):
    tablets = [double_tablet(f"root.f.d{i}", 1000 * i, 300) for i in range(3)]
    path = tmp_path / "src" / "1700000000000-1-0-0.tsfile"
    index = write_tsfile(path, tablets)
    path.with_name(path.name + ".mods").write_text(
        f"DELETION,root.f.d0.s0,{path.stat().st_size},10,19\n"
    )
    sink = sinks(link.sink_name, link.params(**{"sink.tsfile.format-version": wanted}))
    sink.tsfile(path, index)
    times, _ = link.receiver.store.query("root.f.d0.s0").series("root.f.d0.s0")
    assert len(times) == 290 and not np.isin(np.arange(10, 20), times).any()
    for tablet in tablets[1:]:
        assert_same_points(link.receiver.store, tablet)
    [loaded] = link.receiver.store.sealed_files()
    # a one-byte reply cannot say "pipecore", but pipecore's air-gap receiver takes IoTDB
    # 2.x's type-11 probe, so auto means version 4 there too (3 only for IoTDB 1.x)
    assert loaded.format_version == 4
    assert loaded.origin == Origin.pipe(SENDER_CLUSTER)


@pytest.mark.parametrize("compressor", ["snappy", "lz4,zstd"])
def test_compressed_requests(link, sinks, tmp_path, compressor):
    sink = sinks(
        link.sink_name,
        link.params(**{"sink.compressor": compressor, "sink.batch.max-delay-ms": "5"}),
    )
    tablet = double_tablet("root.z.d1", 0, 2000)
    sink.tablet(tablet)
    path = tmp_path / "2-2-0-0.tsfile"
    index = write_tsfile(path, [double_tablet("root.z.d2", 0, 500)])
    sink.tsfile(path, index)
    assert_same_points(link.receiver.store, tablet)
    assert link.receiver.points("root.z.d2.**") == 1500


def test_fail_over_to_the_next_receiver(link, make_link, sinks):
    other = make_link(link.transport, "other")
    urls = f"{link.receiver.url},{other.receiver.url}"
    sink = sinks(
        link.sink_name,
        link.params(
            **{
                "sink.node-urls": urls,
                "sink.batch.enable": "false",
                "sink.load-balance-strategy": "priority",
            }
        ),
    )
    for i in range(5):
        sink.tablet(double_tablet(f"root.fo.d{i}", 0, 10, series=1))
    assert (link.receiver.points("root.fo.**"), other.receiver.points("root.fo.**")) == (50, 0)
    link.receiver.close()  # the first one goes away: everything goes to the second now
    for i in range(5):
        sink.tablet(double_tablet(f"root.fo2.d{i}", 0, 10, series=1))
    assert other.receiver.points("root.fo2.**") == 50


def test_a_refused_handshake_names_the_receiver(link, sinks):
    from pipecore_thrift_sink import ReceiverRefusedError

    link.receiver.users.set_password("root", "n3w")
    with pytest.raises(ReceiverRefusedError, match=link.receiver.url.replace(".", r"\.")) as info:
        sinks(link.sink_name, link.params(**{"sink.password": "wrong"}))
    if link.transport == "air-gap":  # only FAIL crosses the gap: v2, then v1 (root/root)
        assert "FAIL" in str(info.value) and "handshake v2 and v1" in str(info.value)
    else:
        assert "WRONG_LOGIN_PASSWORD(801)" in str(info.value)
    assert link.receiver.points() == 0


def test_connections_cut_at_random_points_lose_nothing(link, tmp_path):
    """A sender node (its runtime retries) through a proxy that cuts every connection after a
    random number of bytes (2–20 KB): files in 4 KB pieces and a stream of tablets end up on
    the receiver exactly as on the sender."""
    from gap_helpers import wait_until
    from tcp_proxy import CuttingProxy

    from pipecore import Node

    fast = {
        "pipe_sink_retry_interval_ms": 20,
        "pipe_subtask_executor_cron_heartbeat_event_interval_seconds": 0.5,
        "pipe_sink_read_file_buffer_size": 4096,
    }
    proxy = CuttingProxy(link.receiver.port, seed=3, min_bytes=2_000, max_bytes=20_000)
    try:
        with Node.open(tmp_path / "sender", fast) as sender:
            for i in range(3):
                sender.store.insert_tablet(double_tablet("root.cut.files", i * 1000, 1000))
                sender.store.flush()
            sender.create_pipe(
                "p",
                sink={
                    "sink": link.sink_name,
                    **link.params(**{"sink.node-urls": proxy.url, "sink.batch.max-delay-ms": "5"}),
                },
            )
            rows = 0
            deadline = time.monotonic() + 30
            while proxy.cuts < 5 and time.monotonic() < deadline:  # a stream while cutting
                sender.store.insert_tablet(double_tablet("root.cut.stream", rows, 50))
                rows += 50
                time.sleep(0.02)
            assert proxy.cuts >= 5, (proxy.cuts, proxy.connections)
            proxy.cutting = False
            expected = 3 * 3000 + rows * 3
            wait_until(lambda: link.receiver.points("root.cut.**") == expected, 60, "all points")
            assert proxy.connections > proxy.cuts  # every cut was followed by a reconnect
            for device in ("root.cut.files", "root.cut.stream"):
                for info in sender.store.list_series(f"{device}.*"):
                    want = sender.store.query(info.path).series(info.path)
                    got = link.receiver.store.query(info.path).series(info.path)
                    assert all(np.array_equal(w, g) for w, g in zip(want, got, strict=True))
    finally:
        proxy.close()
