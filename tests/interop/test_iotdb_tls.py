"""pipecore's `iotdb-thrift-ssl-sink` into a real IoTDB whose client RPC port is TLS
(`enable_thrift_ssl`, `key_store_path`, `key_store_pwd`): IoTDB's pipe receiver is on that
port, so the pipe's handshake, tablets and TsFile pieces all go over TLS. The sink trusts the
test CA through a PKCS#12 trust store; after the pipe settles, SELECT on both sides (IoTDB's
over a TLS session) is identical."""

from __future__ import annotations

import itertools
import socket
import ssl
from typing import Any

import pytest
from interop_data import create_statements, expected, insert_statements, select_points
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode
from test_iotdb_pipes import _data, settle

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


def test_the_tls_iotdb_takes_tls_only(iotdb_tls: tuple[IoTDBServer, Any]) -> None:
    """The port really is TLS: a plain session cannot open it; a TLS handshake fails the
    certificate check for a client trusting another CA and completes for one trusting the test
    CA (the server's certificate names 127.0.0.1)."""
    from iotdb.Session import Session
    from iotdb.utils.exception import IoTDBConnectionException

    server, pki = iotdb_tls
    plain = Session("127.0.0.1", server.rpc_port, "root", "root", connection_timeout_in_ms=5000)
    with pytest.raises(IoTDBConnectionException):
        plain.open(False)
    for ca, trusted in ((pki.rogue.cert_path, False), (pki.ca_pem, True)):
        context = ssl.create_default_context(cafile=str(ca))
        with socket.create_connection(("127.0.0.1", server.rpc_port), 10) as raw:
            if trusted:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    assert tls.version() in ("TLSv1.2", "TLSv1.3")
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    context.wrap_socket(raw, server_hostname="127.0.0.1")
    _, rows = server.query("show version")  # the fixture's session: TLS, trusting the CA
    assert rows


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_pipecore_ssl_sink_into_a_tls_iotdb(
    iotdb_tls: tuple[IoTDBServer, Any], pipecore: PipecoreNode, mode: str
) -> None:
    """stream: realtime tablets (types 11/13 after the 2.x probe); batch: sealed TsFiles
    (format v4) with their pieces and seal, as history."""
    server, pki = iotdb_tls
    db = f"root.tls{next(_names)}"
    data = _data(db, 300)
    trust = pki.trust_p12("trust-pw")
    pipecore.execute(f"create database {db}", *create_statements(data))
    if mode == "batch":
        pipecore.execute(*insert_statements(data), f"flush {db}")
    pipecore.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
        f"with sink ('sink'='iotdb-thrift-ssl-sink', "
        f"'sink.node-urls'='127.0.0.1:{server.rpc_port}', "
        f"'ssl.trust-store-path'='{trust}', 'ssl.trust-store-pwd'='trust-pw')"
    )
    if mode == "stream":
        pipecore.execute(*insert_statements(data))
    assert select_points(pipecore.query, f"{db}.**") == expected(data)
    settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(server.query, f"{db}.**"),
    )
