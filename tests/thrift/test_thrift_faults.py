"""Faults between real processes: connections cut at random points (stream and files), the
receiver killed with SIGKILL mid-transfer, a receiver down for a while, refused senders. The
receiver must end with exactly the sender's data; refusals must be clear in SHOW PIPES."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tcp_proxy import CuttingProxy
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINKS = ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"]
SMALL_PIECES = {"pipe_sink_read_file_buffer_size": 4 * 1024}


def write_batch(node: Serve, device: str, start: int, count: int) -> None:
    values = ", ".join(
        f"({t}, {t}, {t * 0.25}, '{'x' * (t % 7)}')" for t in range(start, start + count)
    )
    node.sql(f"insert into {device}(timestamp, a, b, c) values {values}")


def same_data(a: Serve, b: Serve, pattern: str) -> bool:
    return a.rows(f"select ** from {pattern}") == b.rows(f"select ** from {pattern}")


def converge(a: Serve, b: Serve, database: str, timeout: float = 60.0) -> None:
    expected = a.count(f"{database}.**")
    wait_for(lambda: b.count(f"{database}.**") == expected, timeout, "all points", (a, b))
    assert same_data(a, b, database)


@pytest.mark.parametrize("sink", SINKS)
def test_connections_cut_at_random_points_during_files_and_stream(tmp_path: Path, sink):
    b, a = start_all(Serve(tmp_path, "B"), Serve(tmp_path, "A", SMALL_PIECES))
    # a multi-row INSERT is one tablet (issue 15): the stream is a few KB per statement, so
    # connections are cut after at most 8 KB to see a dozen cuts
    proxy = CuttingProxy(b.port, seed=len(sink), min_bytes=1_000, max_bytes=8_000)
    try:
        for i in range(4):  # history: four sealed files, sent in 4 KB pieces
            write_batch(a, "root.cut.files", i * 500, 500)
            a.sql("flush")
        a.sql(
            f"create pipe p with sink ('sink'='{sink}', 'sink.node-urls'='{proxy.url}', "
            "'sink.batch.max-delay-ms'='20')"
        )
        # realtime: a stream of inserts, at least 20, then on until a dozen cuts were made (how
        # many bytes a statement becomes on the wire depends on batching: a batch flushed
        # whenever the pipe runs dry is a request of its own)
        for i in range(400):
            write_batch(a, "root.cut.stream", i * 50, 50)
            if i >= 19 and proxy.cuts >= 12:
                break
            time.sleep(0.02)
        wait_for(lambda: proxy.cuts >= 12, 60, "a dozen cuts", (a, b))
        proxy.cutting = False
        converge(a, b, "root.cut")
        assert proxy.connections > proxy.cuts  # every cut was followed by a reconnect
    finally:
        proxy.close()
        a.stop()
        b.stop()


@pytest.mark.parametrize("sink", SINKS)
def test_receiver_killed_mid_transfer(tmp_path: Path, sink):
    b, a = start_all(Serve(tmp_path, "B"), Serve(tmp_path, "A", SMALL_PIECES))
    try:
        for i in range(6):
            write_batch(a, "root.kill.d1", i * 500, 500)
            a.sql("flush")
        a.sql(
            f"create pipe p with sink ('sink'='{sink}', 'sink.node-urls'='{b.url}', "
            "'sink.rate-limit-bytes-per-second'='50000')"
        )
        wait_for(lambda: b.count("root.kill.**") > 0, 30, "the first file on B", (a, b))
        b.kill()  # SIGKILL in the middle of the transfer
        assert a.count("root.kill.**") == 6 * 500 * 3  # all written; B had only a part
        for i in range(10):
            write_batch(a, "root.kill.d2", i * 50, 50)
        b.start()
        converge(a, b, "root.kill")
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("sink", SINKS)
def test_receiver_down_for_a_while_is_caught_up(tmp_path: Path, sink):
    b, a = start_all(Serve(tmp_path, "B"), Serve(tmp_path, "A"))
    try:
        a.sql(f"create pipe p with sink ('sink'='{sink}', 'sink.node-urls'='{b.url}')")
        write_batch(a, "root.down.d1", 0, 100)
        converge(a, b, "root.down")
        b.stop()
        for i in range(20):
            write_batch(a, "root.down.d1", 100 + i * 50, 50)
        a.sql("flush")
        write_batch(a, "root.down.d2", 0, 100)
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "p"]
        assert row[2] == "RUNNING"  # connection errors are retried, the pipe keeps running
        b.start()
        converge(a, b, "root.down")
    finally:
        a.stop()
        b.stop()


def exception_message(node: Serve, pipe: str) -> str:
    rows = [r for r in node.rows("SHOW PIPES") if r[0] == pipe]
    return str(rows[0][6]) if rows else ""


@pytest.mark.parametrize("sink", SINKS)
def test_refused_senders_are_told_why(tmp_path: Path, sink):
    closed, open_, a = start_all(
        Serve(tmp_path, "closed", {"ip_white_list": "10.0.0.0/8"}),
        Serve(tmp_path, "open"),
        Serve(tmp_path, "A"),
    )
    try:
        # CREATE PIPE fails with the receiver's reason ...
        with pytest.raises(ServerError, match="ip_white_list"):
            a.sql(f"create pipe w with sink ('sink'='{sink}', 'sink.node-urls'='{closed.url}')")
        with pytest.raises(ServerError, match="WRONG_LOGIN_PASSWORD"):
            a.sql(
                f"create pipe pw with sink ('sink'='{sink}', 'sink.node-urls'='{open_.url}', "
                "'sink.password'='wrong')"
            )
        # ... and when created anyway, the pipe stops and SHOW PIPES says why
        a.sql(
            f"create pipe w with sink ('sink'='{sink}', 'sink.node-urls'='{closed.url}', "
            "'sink.handshake-on-create'='false')"
        )
        a.sql(
            f"create pipe pw with sink ('sink'='{sink}', 'sink.node-urls'='{open_.url}', "
            "'sink.password'='wrong', 'sink.handshake-on-create'='false')"
        )
        write_batch(a, "root.refused.d1", 0, 10)
        message = wait_for(lambda: exception_message(a, "w"), 30, "an exception on w", (a,))
        assert "PIPE_HANDSHAKE_ERROR(1802)" in message and "ip_white_list" in message
        assert "127.0.0.1" in message
        message = wait_for(lambda: exception_message(a, "pw"), 30, "an exception on pw", (a,))
        assert "WRONG_LOGIN_PASSWORD(801)" in message
        assert closed.count("root.refused.**") == 0 and open_.count("root.refused.**") == 0
        # the refusing receiver lists no pipes (IoTDB lists no senders); its log says why
        assert closed.rows("SHOW PIPES") == []
        assert "not in ip_white_list" in closed.log()
    finally:
        for node in (a, closed, open_):
            node.stop()
