"""The thrift sinks against pipecore's receiver, in process (real sockets, real store):
tablets, batches, TsFiles (v3/v4, with deletions), compression, slices, rate limits, several
receivers. Every test runs with the sync and the async sink (`sink_name`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from thrift_helpers import SENDER_CLUSTER, assert_same_points, double_tablet

from pipecore import Config, Origin
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore.testing.conformance import sample_tablets
from pipecore_storage import Tablet
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink import ThriftSinkSection
from pipecore_thrift_sink.files import tsfile_version
from pipecore_thrift_sink.protocol import PipeRequestType


def write_tsfile(path: Path, tablets: list[Tablet], version: int = 4) -> dict:
    with TsFileWriter(path, format_version=version) as writer:
        for tablet in tablets:
            writer.write_tablet(tablet)
    return {t.device: (int(t.timestamps.min()), int(t.timestamps.max())) for t in tablets}


def record_request_types(receiver) -> list[int]:
    """The request types the receiver gets from now on, in order (a list that fills up)."""
    seen: list[int] = []

    def wrap(inner):
        class Counting:
            def transfer(self, version, type_, body):
                seen.append(type_)
                return inner.transfer(version, type_, body)

            def close(self):
                inner.close()

        return Counting()

    receiver.wrap = wrap
    return seen


@pytest.mark.parametrize("batch", ["false", "true"])
def test_tablets_of_every_type_arrive_exactly(sink_name, receiver, open_sink, batch):
    sink = open_sink(sink_name, {"sink.node-urls": receiver.url, "sink.batch.enable": batch})
    subscription = receiver.store.subscribe("watch")
    tablets = sample_tablets()
    for tablet in tablets:
        sink.tablet(tablet)
    for tablet in tablets:
        assert_same_points(receiver.store, tablet)
    events = subscription.drain(100)
    assert events and {e.origin for e in events} == {Origin.pipe(SENDER_CLUSTER)}
    conns = receiver.registry.list()  # the async sink may use several connections
    assert {c.cluster_id for c in conns} == {SENDER_CLUSTER}
    assert set().union(*(c.databases for c in conns)) == {"root.kit"}
    assert sum(c.points for c in conns) == sum(t.point_count() for t in tablets)


def test_batches_are_cut_by_size_and_sent_after_the_delay(sink_name, receiver, open_sink):
    seen = record_request_types(receiver)
    sink = open_sink(
        sink_name,
        {
            "sink.node-urls": receiver.url,
            "sink.batch.size-bytes": "20000",
            "sink.batch.max-delay-ms": "100",
        },
    )
    started = time.monotonic()
    pending = [sink.tablet(double_tablet("root.b.d1", i * 500, 500), wait=False) for i in range(8)]
    for outcome in pending:
        if outcome is not None:
            outcome.result(10)
    assert receiver.points("root.b.**") == 8 * 500 * 3
    batches = seen.count(PipeRequestType.TRANSFER_TABLET_BATCH)
    assert batches >= 4  # 8 tablets of ~12 KB in batches of at most 20 KB
    assert PipeRequestType.TRANSFER_TABLET_RAW not in seen
    # a lone tablet waits for the delay, then goes
    lone = sink.tablet(double_tablet("root.b.d2", 0, 10), wait=False)
    assert lone is not None and not lone.done()
    lone.result(5)
    assert time.monotonic() - started >= 0.1
    assert receiver.points("root.b.d2.**") == 30


def test_batch_delay_seconds_and_ms_are_exclusive(sink_name, open_sink, receiver):
    from pipecore import PipeParameterNotValidError

    with pytest.raises(PipeParameterNotValidError, match="max-delay"):
        open_sink(
            sink_name,
            {
                "sink.node-urls": receiver.url,
                "sink.batch.max-delay-seconds": "1",
                "sink.batch.max-delay-ms": "5",
            },
        )


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("wanted", ["auto", "3", "4"])
def test_tsfiles_arrive_in_the_format_asked_for(
    sink_name, receiver, open_sink, tmp_path, version, wanted
):
    tablets = [double_tablet(f"root.f.d{i}", 1000 * i, 300) for i in range(3)]
    path = tmp_path / "src" / "1700000000000-1-0-0.tsfile"
    path.parent.mkdir()
    index = write_tsfile(path, tablets, version)
    sink = open_sink(
        sink_name,
        {"sink.node-urls": receiver.url, "sink.tsfile.format-version": wanted},
    )
    sink.tsfile(path, index)
    for tablet in tablets:
        assert_same_points(receiver.store, tablet)
    [loaded] = receiver.store.sealed_files()
    expected = {"auto": version, "3": 3, "4": 4}[wanted]  # a pipecore receiver reads v4
    assert loaded.format_version == expected
    assert sum(c.files for c in receiver.registry.list()) == 1
    assert path.exists() and tsfile_version(path) == version  # the source file is untouched
    assert not list((tmp_path / "pipe-data-0" / "thrift-sink").glob("**/*.tsfile"))


def test_deletions_travel_with_the_file(sink_name, receiver, open_sink, tmp_path):
    tablet = double_tablet("root.m.d1", 0, 100)
    path = tmp_path / "1-1-0-0.tsfile"
    index = write_tsfile(path, [tablet])
    path.with_name(path.name + ".mods").write_text(
        f"DELETION,root.m.d1.s0,{path.stat().st_size},10,19\n"
    )
    sink = open_sink(sink_name, {"sink.node-urls": receiver.url})
    sink.tsfile(path, index)
    result = receiver.store.query("root.m.d1.s0")
    times, _ = result.series("root.m.d1.s0")
    assert len(times) == 90 and not np.isin(np.arange(10, 20), times).any()
    assert receiver.points("root.m.d1.s1") == 100


def test_a_resumed_offset_is_honoured(sink_name, receiver, open_sink, tmp_path):
    """The receiver answers the first piece with 1803 and the offset it has: the sink goes on
    from there instead of starting again."""
    pieces: list[int] = []

    def wrap(inner):
        class Resetting:
            def transfer(self, version, type_, body):
                resp = inner.transfer(version, type_, body)
                if type_ == PipeRequestType.TRANSFER_TS_FILE_PIECE:
                    pieces.append(len(body))
                    if len(pieces) == 1:
                        return PipeTransferResponse(
                            Status(TSStatusCode.PIPE_TRANSFER_FILE_OFFSET_RESET, "resume"),
                            resp.body,
                        )
                return resp

            def close(self):
                inner.close()

        return Resetting()

    receiver.wrap = wrap
    config = Config.load(
        env={}, sections=[ThriftSinkSection], overrides={"pipe_sink_read_file_buffer_size": 4096}
    )
    tablet = double_tablet("root.r.d1", 0, 2000)
    path = tmp_path / "2-2-0-0.tsfile"
    index = write_tsfile(path, [tablet])
    sink = open_sink(sink_name, {"sink.node-urls": receiver.url}, node_config=config)
    sink.tsfile(path, index)
    assert_same_points(receiver.store, tablet)
    size = path.stat().st_size
    assert len(pieces) == -(-size // 4096)  # every piece exactly once: nothing was resent


@pytest.mark.parametrize("compressor", ["snappy", "gzip", "lz4", "zstd", "lzma2", "lz4,zstd"])
def test_compressed_requests(sink_name, receiver, open_sink, tmp_path, compressor):
    seen = record_request_types(receiver)
    sink = open_sink(
        sink_name,
        {
            "sink.node-urls": receiver.url,
            "sink.compressor": compressor,
            "sink.batch.enable": "false",
        },
    )
    tablet = double_tablet("root.c.d1", 0, 1000)
    sink.tablet(tablet)
    path = tmp_path / "3-3-0-0.tsfile"
    other = double_tablet("root.c.d2", 0, 100)
    sink.tsfile(path, write_tsfile(path, [other]))
    assert_same_points(receiver.store, tablet)
    assert_same_points(receiver.store, other)
    assert PipeRequestType.TRANSFER_COMPRESSED in seen
    assert set(seen) <= {
        PipeRequestType.HANDSHAKE_DATANODE_V2,
        PipeRequestType.TRANSFER_COMPRESSED,
    }


def test_large_requests_go_in_slices(sink_name, receiver, open_sink):
    config = Config.load(
        env={},
        sections=[ThriftSinkSection],
        overrides={"pipe_connector_request_slice_threshold_bytes": 10_000},
    )
    seen = record_request_types(receiver)
    sink = open_sink(
        sink_name,
        {"sink.node-urls": receiver.url, "sink.batch.enable": "false"},
        node_config=config,
    )
    tablet = double_tablet("root.s.d1", 0, 2000)  # ~48 KB
    sink.tablet(tablet)
    assert_same_points(receiver.store, tablet)
    assert seen.count(PipeRequestType.TRANSFER_SLICE) >= 5


def test_rate_limit_paces_the_sink(sink_name, receiver, open_sink):
    sink = open_sink(
        sink_name,
        {
            "sink.node-urls": receiver.url,
            "sink.batch.enable": "false",
            "sink.rate-limit-bytes-per-second": "100000",
        },
    )
    started = time.monotonic()
    for i in range(10):
        sink.tablet(double_tablet("root.rl.d1", i * 1000, 1000, series=2))  # ~24 KB each
    elapsed = time.monotonic() - started
    assert receiver.points("root.rl.**") == 20_000
    assert elapsed >= 1.3  # 240 KB at 100 KB/s, less the first second's burst


@pytest.mark.parametrize("strategy", ["round-robin", "random", "priority"])
def test_several_receivers_share_and_take_over(sink_name, make_receiver, open_sink, strategy):
    a, b = make_receiver(), make_receiver()
    sink = open_sink(
        sink_name,
        {
            "sink.node-urls": f"{a.url}, {b.url}",
            "sink.batch.enable": "false",
            "sink.load-balance-strategy": strategy,
        },
    )
    for i in range(20):
        sink.tablet(double_tablet(f"root.lb.d{i}", 0, 10, series=1))
    counts = [a.points("root.lb.**"), b.points("root.lb.**")]
    assert sum(counts) == 200
    if strategy == "round-robin":
        assert counts[0] > 0 and counts[1] > 0
    if strategy == "priority":
        assert counts == [200, 0]
    a.close()  # fail-over: everything goes to b now
    for i in range(20):
        sink.tablet(double_tablet(f"root.lb2.d{i}", 0, 10, series=1))
    assert b.points("root.lb2.**") == 200


def test_unreachable_target_fails_the_handshake_unless_asked_not_to(sink_name, open_sink):
    import socket

    from pipecore import PipeConnectionError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(PipeConnectionError, match="All target servers"):
        open_sink(sink_name, {"sink.node-urls": f"127.0.0.1:{port}"})
    sink = open_sink(
        sink_name, {"sink.node-urls": f"127.0.0.1:{port}", "sink.handshake-on-create": "false"}
    )
    assert sink.instance.clients.alive() == []


def test_handshake_v1_fallback(sink_name, receiver, open_sink, tmp_path):
    """A receiver that knows no v2 handshake (1801) gets v1, and files as v3 without mods."""
    seen: list[int] = []

    def wrap(inner):
        class OldReceiver:
            def transfer(self, version, type_, body):
                seen.append(type_)
                if type_ == PipeRequestType.HANDSHAKE_DATANODE_V2:
                    return PipeTransferResponse(
                        Status(TSStatusCode.PIPE_TYPE_ERROR, "Unknown PipeRequestType 51.")
                    )
                return inner.transfer(version, type_, body)

            def close(self):
                inner.close()

        return OldReceiver()

    receiver.wrap = wrap
    sink = open_sink(sink_name, {"sink.node-urls": receiver.url})
    tablet = double_tablet("root.v1.d1", 0, 100)
    path = tmp_path / "4-4-0-0.tsfile"
    index = write_tsfile(path, [tablet])
    sink.tsfile(path, index)
    assert_same_points(receiver.store, tablet)
    assert PipeRequestType.HANDSHAKE_DATANODE_V1 in seen
    assert PipeRequestType.TRANSFER_TS_FILE_PIECE in seen  # single-file mode
    assert receiver.store.sealed_files()[0].format_version == 3  # no marker: an IoTDB 1.x
    assert {c.cluster_id for c in receiver.registry.list()} == {None}


def test_conformance_kit_moves_data(sink_name, receiver, open_sink):
    """A plain type check of many tablets on several devices with interleaved times."""
    sink = open_sink(sink_name, {"sink.node-urls": receiver.url, "sink.batch.max-delay-ms": "5"})
    outcomes = []
    for round_ in range(10):
        for d in range(4):
            tablet = double_tablet(f"root.k.d{d}", round_ * 100, 100, series=2)
            outcomes.append(sink.tablet(tablet, wait=False))
    for outcome in outcomes:
        if outcome is not None:
            outcome.result(10)
    assert receiver.points("root.k.**") == 10 * 4 * 100 * 2
    got = receiver.store.query("root.k.d3.s1").series("root.k.d3.s1")
    assert np.array_equal(got[0], np.arange(1000)) and np.allclose(got[1], np.arange(1000) * 2.5)
