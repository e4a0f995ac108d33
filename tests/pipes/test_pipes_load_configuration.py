"""LOAD CONFIGURATION of ``ip_white_list`` reaches the next handshake of every receiver of the
node — thrift, TLS and air gap (issue 15 #6) — between real `pipecore serve` processes."""

from __future__ import annotations

import pytest
from ssl_helpers import KEY_PWD, TRUST_PWD, Pki
from thrift_processes import Serve, free_port, start_all

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _white_list(node: Serve, networks: str) -> None:
    lines = [
        line
        for line in node.config_path.read_text().splitlines()
        if not line.startswith("ip_white_list")
    ]
    node.config_path.write_text("\n".join([*lines, f'ip_white_list = "{networks}"', ""]))
    message = node.sql("LOAD CONFIGURATION").message or ""
    assert "ip_white_list" in message, message  # applied now, not at the next start


def test_white_list_change_reaches_every_receiver(tmp_path) -> None:
    pki = Pki(tmp_path / "pki")
    gap_port = free_port()
    a = Serve(tmp_path, "A")
    gap = {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": gap_port}
    b = Serve(tmp_path, "B", gap)
    t = Serve(
        tmp_path,
        "T",
        {"enable_thrift_ssl": True, "key_store_path": str(pki.key_p12()), "key_store_pwd": KEY_PWD},
        client_context=pki.client_context(),
    )
    start_all(a, b, t)
    trust = pki.trust_p12(TRUST_PWD)
    sinks = {
        "thrift": (b, f"'sink'='iotdb-thrift-sync-sink', 'sink.node-urls'='{b.url}'"),
        "air-gap": (
            b,
            f"'sink'='iotdb-air-gap-sink', 'sink.ip'='127.0.0.1', 'sink.port'='{gap_port}'",
        ),
        "tls": (
            t,
            f"'sink'='iotdb-thrift-ssl-sink', 'sink.node-urls'='{t.url}', "
            f"'sink.ssl.trust-store-path'='{trust}', 'sink.ssl.trust-store-pwd'='{TRUST_PWD}'",
        ),
    }
    try:
        for name, (node, sink) in sinks.items():
            pipe = f"w_{name.replace('-', '_')}"
            a.sql(f"CREATE PIPE {pipe} WITH SINK ({sink})")  # allowed: 127.0.0.1/32
            a.sql(f"DROP PIPE {pipe}")
            _white_list(node, "10.0.0.0/8")
            with pytest.raises(ServerError):  # the next handshake is refused
                a.sql(f"CREATE PIPE {pipe} WITH SINK ({sink})")
            _white_list(node, "127.0.0.1/32")
            a.sql(f"CREATE PIPE {pipe} WITH SINK ({sink})")  # and allowed again
            a.sql(f"DROP PIPE {pipe}")
    finally:
        for node in (a, b, t):
            node.stop()
