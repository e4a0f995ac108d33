"""The sync tool's SHOW PIPES (seeds 000/001, issue 15 #7) between real `pipecore serve`
processes: a legacy pipe's row says role sender, remote = its PIPESINK, its attributes
(SyncDelOp, DataStartTimestamp) and NORMAL — ERROR once the receiver refuses it (not in its
ip_white_list: the network works but data cannot be transferred); a receiver row says
NORMAL."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_legacy_sender_and_receiver_rows(tmp_path) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        host, port = b.url.split(":")
        a.sql(f"CREATE PIPESINK my_pipesink AS IoTDB (ip='{host}', port={port})")
        a.sql("CREATE PIPE my_pipe1 TO my_pipesink WITH SyncDelOp=false")
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "my_pipe1"]
        assert row[2] == "STOPPED"
        assert row[3] == "{DataStartTimestamp=0, SyncDelOp=false, remote=my_pipesink, role=sender}"
        assert row[6] == "NORMAL"
        a.sql("START PIPE my_pipe1")
        a.sql("insert into root.vehicle.d0(time, s0) values (1, 1)")
        wait_for(lambda: b.count("root.vehicle.**") == 1, 30, "the row at B", (a, b))
        # without version='1.1' the PIPESINK speaks IoTDB 1.3's pipeTransfer: B lists no
        # receiver row for it (as IoTDB 1.3/2.0; the sync tool's senders get one, see
        # tests/legacy/test_legacy_processes.py) — pipecore's SHOW PIPE RECEIVERS shows it
        assert b.rows("SHOW PIPES") == []
        [received] = b.rows("SHOW PIPE RECEIVERS")
        assert received[2] == "thrift" and received[6] == "root.vehicle", received
        # B comes back refusing A (not in its ip_white_list): the pipe stops, ERROR
        b.stop()
        with b.config_path.open("a") as config:
            config.write('ip_white_list = "10.0.0.0/8"\n')
        b.start()
        a.sql("insert into root.vehicle.d0(time, s0) values (2, 2)")

        def message() -> str:
            [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "my_pipe1"]
            return str(row[6]) if row[6] != "NORMAL" else ""

        text = wait_for(message, 60, "the legacy pipe's message", (a, b))
        assert text.startswith(("ERROR: ", "WARN: ")) and "ip_white_list" in text, text
    finally:
        for node in (a, b):
            node.stop()


def test_max_number_of_sync_file_retry_reaches_legacy_pipes(tmp_path) -> None:
    """A sync-tool pipe tries a failing request `max_number_of_sync_file_retry` more times,
    then stops with the error (its row says ERROR) — the setting was read nowhere before."""
    from pipecore import PipeError, PipeParameters
    from pipecore.rpc import PipeTransferResponse, Status
    from pipecore_thrift_sink.options import SinkOptions
    from pipecore_thrift_sink.status import StatusPolicy

    a, b = start_all(
        Serve(tmp_path, "A", {"max_number_of_sync_file_retry": 2}), Serve(tmp_path, "B")
    )
    try:
        host, port = b.url.split(":")
        a.sql(f"CREATE PIPESINK sink2 AS IoTDB (ip='{host}', port={port})")
        a.sql("CREATE PIPE p2 TO sink2")
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "p2"]
        assert "sink.exception.others.retry-max-times=2" in row[5]
    finally:
        a.stop()
        b.stop()
    params = PipeParameters(
        {"sink.node-urls": "127.0.0.1:1", "sink.exception.others.retry-max-times": "2"}
    )
    policy = StatusPolicy(SinkOptions.parse(params), retry_interval=0.001)
    sent = []

    def send() -> PipeTransferResponse:
        sent.append(1)
        return PipeTransferResponse(Status(301, "cannot write"))

    with pytest.raises(PipeError, match="gave up after 2 retries"):
        policy.deliver(send, lambda: "a tablet", "b")
    assert len(sent) == 3
