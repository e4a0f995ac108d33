"""A receiver whose disk is full answers 1808 (the sender retries it, forever by default) and
loses nothing it acknowledged; a file whose load failed is loaded by the sender's retried
seal; the answer names no path of the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from small_disk import fill, mounted_tmpfs
from test_thrift_receiver import handshake
from thrift_helpers import Receiver, double_tablet

from pipecore.rpc import PipeTransferClient
from pipecore_storage.tsfile import TsFileWriter
from pipecore_thrift_sink.protocol import (
    PipeRequestType,
    encode_file_piece,
    encode_file_seal_v1,
    encode_tablet_raw,
)

T = PipeRequestType


@pytest.fixture
def disk(tmp_path: Path):
    with mounted_tmpfs(tmp_path / "disk", "8m") as mnt:
        yield mnt


def test_full_receiver_answers_retry_and_keeps_everything(disk, tmp_path):
    r = Receiver(disk)
    client = PipeTransferClient("127.0.0.1", r.port, timeout=30)
    try:
        assert handshake(client)[0] == 200
        ok = double_tablet("root.r.d1", 0, 100)
        assert client.transfer(1, T.TRANSFER_TABLET_RAW, encode_tablet_raw(ok)).code == 200
        fill(disk / "filler")
        refused = 0
        for k in range(1, 60):
            body = encode_tablet_raw(double_tablet("root.r.d1", k * 1000, 2000))
            code, message, _ = client.transfer(1, T.TRANSFER_TABLET_RAW, body)
            if code != 200:
                assert code == 1808, message
                assert str(disk) not in message and "disk is full" in message
                refused += 1
                break
        assert refused
        # a file sent while the disk is full: its seal is answered 1808 and retried
        src = tmp_path / "1-1-0-0.tsfile"
        with TsFileWriter(src) as w:
            t = double_tablet("root.r.f1", 0, 50)
            w.register_timeseries(t.device, t.schemas[0])
            w.register_timeseries(t.device, t.schemas[1])
            w.register_timeseries(t.device, t.schemas[2])
            w.write_tablet(t)
        data = src.read_bytes()
        (disk / "filler").unlink()
        fill(disk / "filler", leave=len(data) + 8192)
        piece = encode_file_piece(src.name, 0, data)
        assert client.transfer(1, T.TRANSFER_TS_FILE_PIECE, piece).code == 200
        seal = encode_file_seal_v1(src.name, len(data))
        code, message, _ = client.transfer(1, T.TRANSFER_TS_FILE_SEAL, seal)
        assert code == 1808, message
        (disk / "filler").unlink()
        assert client.transfer(1, T.TRANSFER_TS_FILE_SEAL, seal).code == 200
        assert r.points("root.r.f1.**") == 150
        body = encode_tablet_raw(double_tablet("root.r.d2", 0, 10))
        assert client.transfer(1, T.TRANSFER_TABLET_RAW, body).code == 200
        before = r.points()
    finally:
        client.close()
        r.close()
    r2 = Receiver(disk)
    try:
        assert r2.points() == before
    finally:
        r2.close()
