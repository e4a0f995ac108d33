"""pipecore's ``iotdb-legacy-pipe-sink`` against pipecore's sync-tool receiver (in process, real
sockets): tablets, TsFiles (rewritten as format v3 for a 1.x receiver), deletions, a connection
cut in the middle of a file, a file the receiver already has, a refused handshake."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from legacy_helpers import LegacyReceiver
from tcp_proxy import TcpProxy
from thrift_helpers import assert_same_points, double_tablet

from pipecore import (
    DeletionEvent,
    PipeConnectionError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    StageContext,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)
from pipecore.stage import Stage
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink import ReceiverRefusedError
from pipecore_thrift_sink.legacy import IoTDBLegacyPipeSink


class CutOnce(TcpProxy):
    """Cuts the first connection once the client has sent `after` bytes."""

    def __init__(self, target_port: int, after: int) -> None:
        self.after = after
        super().__init__(target_port)

    def new_connection(self, number: int) -> dict[str, Any]:
        return {"number": number, "sent": 0}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        if not upstream or state["number"] != 1:
            return data, False
        left = self.after - state["sent"]
        state["sent"] += len(data)
        return (data[:left], True) if len(data) >= left else (data, False)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[LegacyReceiver]:
    r = LegacyReceiver(tmp_path)
    yield r
    r.close()


@pytest.fixture
def open_sink(tmp_path: Path) -> Iterator[Callable[..., Stage]]:
    stages: list[Stage] = []

    def _open(port: int, **params: str) -> Stage:
        stage = Stage(
            "sink",
            "IOTDB-LEGACY-PIPE-SINK",
            IoTDBLegacyPipeSink(),
            StageContext("p", "sink", "L", 0),
        )
        parameters = PipeParameters(
            {
                "sink": "iotdb-legacy-pipe-sink",
                "sink.ip": "127.0.0.1",
                "sink.port": str(port),
                **params,
            }
        )
        stage.call["connector_validate"](PipeParameterValidator(parameters))
        data_dir = tmp_path / f"sink-{len(stages)}"
        data_dir.mkdir()
        config = RuntimeConfiguration("legacy-pipe", 1648569600000, data_dir, "sender-cluster")
        stage.call["connector_customize"](parameters, config)
        stage.call["connector_handshake"]()
        stages.append(stage)
        return stage

    yield _open
    for stage in stages:
        stage.close()


def _v4_file(path: Path, device: str, start: int, rows: int, version: int = 4) -> Path:
    with TsFileWriter(path, format_version=version) as writer:
        writer.write_tablet(double_tablet(device, start, rows))
    return path


def test_tablets_files_and_deletions(
    receiver: LegacyReceiver, open_sink: Callable[..., Stage], tmp_path: Path
) -> None:
    sink = open_sink(receiver.port)
    tablet = double_tablet("root.sg.d1", 0, 500)
    sink.call["connector_transfer_tablet"](TabletInsertionEvent(tablet))
    assert_same_points(receiver.store, tablet)
    path = _v4_file(tmp_path / "1-1-0-0.tsfile", "root.sg.d2", 1000, 3000)
    sink.call["connector_transfer_tsfile"](TsFileInsertionEvent(path, {"root.sg.d2": (1000, 3999)}))
    assert_same_points(receiver.store, double_tablet("root.sg.d2", 1000, 3000))
    sink.call["connector_transfer_event"](DeletionEvent("root.sg.d1.s0", 0, 99))
    times, _ = receiver.store.query("root.sg.d1.s0").series("root.sg.d1.s0")
    assert list(times) == list(range(100, 500))
    # the receiver saw one sync connection of pipe legacy-pipe, sync tool version 1.1
    [handler] = receiver.handlers
    assert handler.identity.pipeName == "legacy-pipe" and handler.identity.version == "1.1"
    assert handler.identity.createTime == 1648569600000
    [conn] = receiver.registry.list()
    assert conn.files == 2


def test_a_cut_in_the_middle_of_a_file_sends_it_again_from_0(
    receiver: LegacyReceiver, open_sink: Callable[..., Stage], tmp_path: Path
) -> None:
    path = _v4_file(tmp_path / "2-1-0-0.tsfile", "root.sg.d3", 0, 20000)
    size = path.stat().st_size
    proxy = CutOnce(receiver.port, after=size // 2)  # the handshake and part of the file
    try:
        sink = open_sink(proxy.port, **{"sink.version": "1.0"})
        sink.instance.client.piece_size = 4096  # many pieces (pipe_sink_read_file_buffer_size)
        event = TsFileInsertionEvent(path, {"root.sg.d3": (0, 19999)})
        with pytest.raises(PipeConnectionError):
            sink.call["connector_transfer_tsfile"](event)
        folder = receiver.settings.base_dir / "legacy" / "127.0.0.1_legacy-pipe_1648569600000"
        [patch] = folder.glob("*.patch")  # what the first connection had written of the file
        assert patch.name == path.name + ".patch" and 0 < patch.stat().st_size < size
        # the runtime's retry: handshake again, send the event again
        sink.call["connector_handshake"]()
        sink.call["connector_transfer_tsfile"](event)
    finally:
        proxy.close()
    assert_same_points(receiver.store, double_tablet("root.sg.d3", 0, 20000))
    assert len(receiver.handlers) == 2 and proxy.connections == 2


def test_a_file_the_receiver_has_is_not_sent_again(
    receiver: LegacyReceiver, open_sink: Callable[..., Stage], tmp_path: Path
) -> None:
    """A finished file in the sender's folder (a load that failed earlier): the receiver's
    SYNC_FILE_REDIRECTION_ERROR moves the sender to its end; the PipeData then loads it."""
    sink = open_sink(receiver.port, **{"sink.version": "1.1.2"})
    path = _v4_file(tmp_path / "3-1-0-0.tsfile", "root.sg.d4", 0, 100, version=3)
    folder = receiver.settings.base_dir / "legacy" / "127.0.0.1_legacy-pipe_1648569600000"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path.name).write_bytes(path.read_bytes())  # the same file, already there
    sent: list[int] = []
    handler_send = receiver.handlers[0].sendFile

    def counting(meta: Any, buff: bytes) -> Any:
        sent.append(len(buff))
        return handler_send(meta, buff)

    receiver.handlers[0].sendFile = counting  # type: ignore[method-assign]
    sink.call["connector_transfer_tsfile"](TsFileInsertionEvent(path, {}))
    assert len(sent) == 1  # one piece, answered with a redirection to the end
    assert_same_points(receiver.store, double_tablet("root.sg.d4", 0, 100))


def test_a_refused_handshake_stops_the_pipe(
    tmp_path: Path, open_sink: Callable[..., Stage]
) -> None:
    receiver = LegacyReceiver(tmp_path, white_list="10.0.0.0/8")
    try:
        with pytest.raises(ReceiverRefusedError, match="permission is not allowed"):
            open_sink(receiver.port)
    finally:
        receiver.close()


def test_parameters_are_checked() -> None:
    for params, match in (
        ({"sink.ip": "127.0.0.1"}, "sink.ip:sink.port must be specified"),
        ({"sink.ip": "h", "sink.port": "1", "sink.ssl.enable": "true"}, "TLS"),
        ({"sink.ip": "h", "sink.port": "70000"}, "Invalid port"),
    ):
        with pytest.raises(Exception, match=match):
            IoTDBLegacyPipeSink().connector_validate(PipeParameterValidator(PipeParameters(params)))
    # IoTDB 1.3's connector.* spellings
    IoTDBLegacyPipeSink().connector_validate(
        PipeParameterValidator(
            PipeParameters({"connector.ip": "h", "connector.port": "1", "connector.version": "1.0"})
        )
    )
    assert np.int64(1)  # numpy imported for the helpers' tablets
