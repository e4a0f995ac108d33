"""``iotdb-air-gap-sink`` against pipecore's air-gap receiver, in process: its options, no
batching, the handshake timeout and the v2 → v1 fallback, a receiver that never answers, the
e-language framing, FAIL to a tablet (retried by the conflict rules) and to a file piece (the
whole file again, on a new connection)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest
from gap_helpers import SENDER_CLUSTER, LinkReceiver
from tcp_proxy import RecordingProxy, SilentProxy
from thrift_helpers import assert_same_points, double_tablet

from pipecore import Config, PipeConnectionError, PipeParameterNotValidError, PipeParameters
from pipecore_air_gap_sink import AirGapFileError, AirGapOptions
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink import ReceiverRefusedError, ThriftSinkSection
from pipecore_thrift_sink.protocol import (
    AIR_GAP_FAIL,
    E_LANGUAGE_PREFIX,
    PipeRequestType,
    PipeTransferRequest,
    decode_file_piece,
    probe_body,
)

SINK = "iotdb-air-gap-sink"
T = PipeRequestType
PROBE = probe_body()


def config(**overrides) -> Config:
    return Config.load(env={}, sections=[ThriftSinkSection], overrides=overrides)


@pytest.fixture
def gap(tmp_path: Path):
    receiver = LinkReceiver(tmp_path, "air-gap")
    yield receiver
    receiver.close()


def record(gap: LinkReceiver, fail=None) -> list[PipeTransferRequest]:
    """Record every request the air-gap receiver answers; ``fail(request)`` True answers it
    FAIL without handling it."""
    seen: list[PipeTransferRequest] = []
    server = gap.air_gap
    assert server is not None
    answer = server.answer

    def recording(receiver, payload, remote):
        request = PipeTransferRequest.from_payload(payload)
        seen.append(request)
        if fail is not None and fail(request):
            return AIR_GAP_FAIL
        return answer(receiver, payload, remote)

    server.answer = recording  # type: ignore[method-assign]
    return seen


def write_tsfile(path: Path, *tablets) -> dict:
    with TsFileWriter(path) as writer:
        for tablet in tablets:
            writer.write_tablet(tablet)
    return {t.device: (int(t.timestamps.min()), int(t.timestamps.max())) for t in tablets}


# ------------------------------------------------------------------ options
def test_options_defaults_and_errors():
    o = AirGapOptions.parse(PipeParameters({"sink": SINK}))
    assert (o.handshake_timeout_ms, o.e_language) == (5000, False)
    o = AirGapOptions.parse(
        PipeParameters(
            {"air-gap.handshake-timeout-ms": "250", "sink.air-gap.e-language.enable": "true"}
        )
    )
    assert (o.handshake_timeout, o.e_language) == (0.25, True)
    for bad in ("0", "-5", "soon"):
        with pytest.raises(PipeParameterNotValidError, match=r"air-gap\.handshake-timeout-ms"):
            AirGapOptions.parse(PipeParameters({"sink.air-gap.handshake-timeout-ms": bad}))


def test_ssl_options_are_refused(sinks, gap):
    with pytest.raises(PipeParameterNotValidError, match="Only 'iotdb-thrift-ssl-sink' supports"):
        sinks(SINK, {"sink.node-urls": gap.url, "ssl.trust-store-path": "x.pem"})


@pytest.mark.parametrize("asked", [None, "true"])
def test_no_batching_each_tablet_is_one_request(sinks, gap, caplog, asked):
    seen = record(gap)
    params = {"sink.node-urls": gap.url}
    if asked:
        params["sink.batch.enable"] = asked
    with caplog.at_level(logging.INFO, "pipecore.air_gap_sink"):
        sink = sinks(SINK, params)
    [line] = [r for r in caplog.records if "does not support batch mode" in r.getMessage()]
    assert line.levelno == (logging.WARNING if asked else logging.INFO)
    tablets = [double_tablet(f"root.nb.d{i}", 0, 20) for i in range(3)]
    for tablet in tablets:
        assert sink.tablet(tablet, wait=False) is None  # done when the call returns
    # after the handshake, the empty IoTDB 2.x probe (type 11); pipecore's receiver takes it,
    # so the tablets go as type 11 too
    assert [r.type for r in seen] == [T.HANDSHAKE_DATANODE_V2] + [T.TRANSFER_TABLET_RAW_V2] * 4
    for tablet in tablets:
        assert_same_points(gap.store, tablet)


# ------------------------------------------------------------------ handshake
def test_handshake_falls_back_to_v1_when_v2_fails(tmp_path, sinks):
    """Our own cluster id refuses v2 (FAIL); v1 carries no cluster id and is accepted — then
    files go without their deletions (single-file mode), as after any v1 handshake."""
    gap = LinkReceiver(tmp_path, "air-gap", cluster_id=SENDER_CLUSTER)
    try:
        seen = record(gap)
        sink = sinks(SINK, {"sink.node-urls": gap.url})
        assert sink.instance.clients.alive()[0].info.version == 1
        tablet = double_tablet("root.v1.d1", 0, 100)
        path = tmp_path / "9-9-0-0.tsfile"
        index = write_tsfile(path, tablet)
        path.with_name(path.name + ".mods").write_text("DELETION,root.v1.d1.s0,1,10,19\n")
        sink.tsfile(path, index)
        types = [r.type for r in seen]
        assert types[:2] == [T.HANDSHAKE_DATANODE_V2, T.HANDSHAKE_DATANODE_V1]
        assert T.TRANSFER_TS_FILE_PIECE in types and T.TRANSFER_TS_FILE_SEAL in types
        assert gap.points("root.v1.**") == 300
    finally:
        gap.close()


def test_a_receiver_that_never_answers_the_handshake_times_out(sinks):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # accepts (the kernel does), reads nothing, answers nothing
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(PipeConnectionError, match="no reply to HANDSHAKE_DATANODE_V2"):
            sinks(
                SINK, {"sink.node-urls": f"127.0.0.1:{port}", "air-gap.handshake-timeout-ms": "300"}
            )
        assert time.monotonic() - started < 3


def test_a_receiver_gone_silent_makes_the_sender_time_out_and_retry(sinks, gap):
    """After the handshake the receiver stops answering: the request times out after
    pipe_sink_timeout_ms (never hangs), the next attempt reconnects and gets through."""
    proxy = SilentProxy(gap.port, swallow=3)  # the handshake's and the probe's bytes pass
    try:
        sink = sinks(
            SINK, {"sink.node-urls": proxy.url}, node_config=config(pipe_sink_timeout_ms=500)
        )
        tablet = double_tablet("root.silent.d1", 0, 40)
        started = time.monotonic()
        with pytest.raises(
            PipeConnectionError, match=r"no reply to TRANSFER_TABLET_RAW_V2 .* 0\.5s"
        ):
            sink.tablet(tablet)
        assert 0.4 < time.monotonic() - started < 5 and proxy.silenced.is_set()
        sink.stage.call["connector_handshake"]()  # what the runtime does after a connection error
        sink.tablet(tablet)
        assert_same_points(gap.store, tablet)  # applied twice (the first did arrive): same points
        assert proxy.connections == 2
    finally:
        proxy.close()


def test_a_reply_that_is_no_air_gap_byte_is_a_connection_error(sinks):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer_wrong() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"\x01")
                time.sleep(0.5)

        threading.Thread(target=answer_wrong, daemon=True).start()
        url = f"127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(PipeConnectionError, match=r"not 00 \(OK\) or ff \(FAIL\)"):
            sinks(SINK, {"sink.node-urls": url})


# ------------------------------------------------------------------ framing
def test_e_language_frames_reach_the_receiver(sinks, gap):
    proxy = RecordingProxy(gap.port)
    try:
        sink = sinks(SINK, {"sink.node-urls": proxy.url, "air-gap.e-language.enable": "true"})
        tablet = double_tablet("root.el.d1", 0, 30)
        sink.tablet(tablet)
        assert_same_points(gap.store, tablet)
        assert bytes(proxy.sent).startswith(E_LANGUAGE_PREFIX)
        assert bytes(proxy.sent).count(E_LANGUAGE_PREFIX) == 3  # handshake, probe, tablet
    finally:
        proxy.close()


# ------------------------------------------------------------------ FAIL
def test_fail_to_a_tablet_is_retried_then_it_arrives(sinks, gap):
    failed: list[int] = []

    def fail_first_tablet(request):
        if request.type == T.TRANSFER_TABLET_RAW_V2 and request.body != PROBE and not failed:
            failed.append(1)
            return True
        return False

    seen = record(gap, fail_first_tablet)
    sink = sinks(
        SINK, {"sink.node-urls": gap.url}, node_config=config(pipe_sink_retry_interval_ms=20)
    )
    tablet = double_tablet("root.retry.d1", 0, 10)
    sink.tablet(tablet)
    assert [r.type for r in seen].count(T.TRANSFER_TABLET_RAW_V2) == 3  # probe, FAIL, retry
    assert_same_points(gap.store, tablet)


def test_fail_to_a_tablet_is_dropped_with_conflict_ignore(sinks, gap, caplog):
    record(gap, lambda r: r.type == T.TRANSFER_TABLET_RAW_V2 and r.body != PROBE)
    sink = sinks(
        SINK,
        {"sink.node-urls": gap.url, "sink.exception.conflict.resolve-strategy": "ignore"},
    )
    sink.tablet(double_tablet("root.drop.d1", 0, 10))
    assert sink.instance.policy.dropped == 1 and gap.points() == 0
    assert any("FAIL (0xff)" in r.getMessage() for r in caplog.records)


def test_fail_to_a_piece_sends_the_whole_file_again_on_a_new_connection(sinks, gap, tmp_path):
    failed: list[int] = []

    def fail_second_piece(request):
        piece = request.type == T.TRANSFER_TS_FILE_PIECE
        if piece and not failed and decode_file_piece(request.body).start_writing_offset > 0:
            failed.append(1)
            return True
        return False

    seen = record(gap, fail_second_piece)
    sink = sinks(
        SINK,
        {"sink.node-urls": gap.url, "sink.tsfile.format-version": "4"},
        node_config=config(pipe_sink_read_file_buffer_size=4096),
    )
    tablet = double_tablet("root.file.d1", 0, 3000)
    path = tmp_path / "5-5-0-0.tsfile"
    index = write_tsfile(path, tablet)
    with pytest.raises(AirGapFileError, match="sent again from its start"):
        sink.tsfile(path, index)
    assert not sink.instance.clients.alive()  # the connection was dropped
    sink.stage.call["connector_handshake"]()
    sink.tsfile(path, index)
    assert_same_points(gap.store, tablet)
    offsets = [
        decode_file_piece(r.body).start_writing_offset
        for r in seen
        if r.type == T.TRANSFER_TS_FILE_PIECE
    ]
    size = path.stat().st_size
    assert offsets == [0, 4096, *range(0, size, 4096)]  # from 0 again, in full
    assert [r.type for r in seen].count(T.HANDSHAKE_DATANODE_V2) == 2


def test_a_refusal_is_clear(tmp_path, sinks):
    gap = LinkReceiver(tmp_path, "air-gap", white_list="10.0.0.0/8")
    try:
        with pytest.raises(ReceiverRefusedError, match="ip_white_list") as info:
            sinks(SINK, {"sink.node-urls": gap.url})
        assert "FAIL (0xff) to handshake v2 and v1" in str(info.value)
    finally:
        gap.close()
