"""TLS on the RPC port with real certificates made in the test."""

from __future__ import annotations

import logging
import ssl
import time
from typing import ClassVar

import pytest
from tls_certs import CertificateAuthority

from pipecore.rpc import (
    PipeTransferClient,
    PipeTransferResponse,
    RpcConnectionError,
    RpcServer,
    Status,
)


class Receiver:
    contexts: ClassVar[list] = []

    def __init__(self, context):
        Receiver.contexts.append(context)

    def transfer(self, version, type, body):
        return PipeTransferResponse(Status(200, "tls ok"))

    def close(self):
        pass


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority(directory)
    other = CertificateAuthority(directory, "stranger")
    return {
        "ca": ca,
        "server": ca.issue("server"),
        "expired": ca.issue("expired-server", expired=True),
        "client": ca.issue("client", hosts=(), client=True),
        "untrusted": other.issue("untrusted-server"),
    }


def server_context(cert, ca=None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert.cert_path, cert.key_path)
    if ca is not None:  # mutual TLS
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(ca.cert_path)
    return ctx


def client_context(ca, cert=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    if cert is not None:
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
    return ctx


def tls_server(ctx) -> RpcServer:
    srv = RpcServer("127.0.0.1", 0, ssl_context=ctx, tls_handshake_timeout=5)
    srv.register_pipe_receiver(Receiver)
    return srv


def test_trusted_server_works_and_context_says_tls(pki):
    Receiver.contexts.clear()
    with (
        tls_server(server_context(pki["server"])) as srv,
        PipeTransferClient(*srv.address, timeout=5, ssl_context=client_context(pki["ca"])) as c,
    ):
        assert c.transfer(1, 1, b"x") == (200, "tls ok", None)
    assert Receiver.contexts[0].tls and Receiver.contexts[0].peer_certificate is None


@pytest.mark.parametrize(
    ("cert", "hostname", "reason"),
    [
        ("untrusted", None, "not trusted"),
        ("expired", None, "expired"),
        ("server", "other.example", "Hostname mismatch|doesn't match"),
    ],
)
def test_bad_certificates_are_refused_clearly(pki, cert, hostname, reason):
    with tls_server(server_context(pki[cert])) as srv:
        c = PipeTransferClient(
            *srv.address, timeout=5, ssl_context=client_context(pki["ca"]), server_hostname=hostname
        )
        with pytest.raises(RpcConnectionError, match=reason):
            c.transfer(1, 1, b"x")
        assert not c.connected


def test_plain_client_on_a_tls_port_fails_and_the_server_says_why(pki, caplog):
    caplog.set_level(logging.WARNING, "pipecore.rpc.server")
    with tls_server(server_context(pki["server"])) as srv:
        with pytest.raises(RpcConnectionError):
            PipeTransferClient(*srv.address, timeout=5).transfer(1, 1, b"x")
        deadline = time.monotonic() + 5
        while "non-SSL requests" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "You may be sending non-SSL requests to the SSL-enabled Thrift-RPC port" in caplog.text


def test_mutual_tls_refuses_a_client_without_certificate(pki):
    Receiver.contexts.clear()
    ctx = server_context(pki["server"], ca=pki["ca"])
    with tls_server(ctx) as srv:
        anonymous = PipeTransferClient(
            *srv.address, timeout=5, ssl_context=client_context(pki["ca"])
        )
        with pytest.raises(RpcConnectionError):
            anonymous.transfer(1, 1, b"x")
        with PipeTransferClient(
            *srv.address, timeout=5, ssl_context=client_context(pki["ca"], pki["client"])
        ) as c:
            assert c.transfer(1, 1, b"x").code == 200
    [ctx_seen] = Receiver.contexts
    subject = dict(x[0] for x in ctx_seen.peer_certificate["subject"])
    assert subject["commonName"] == "client"


def test_official_session_over_tls(pki):
    from iotdb.Session import Session

    from pipecore.rpc import SessionHandler
    from pipecore.rpc import thrift as t

    class Handler(SessionHandler):
        def openSession(self, req):
            return t.TSOpenSessionResp(
                t.TSStatus(code=200), t.TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3, 1, {}
            )

        def requestStatementId(self, session_id):
            return 1

        def setTimeZone(self, req):
            return t.TSStatus(code=200)

        def closeSession(self, req):
            return t.TSStatus(code=200)

    with tls_server(server_context(pki["server"])) as srv:
        srv.register_session_handler(Handler)
        host, port = srv.address
        session = Session(
            host, port, zone_id="UTC", use_ssl=True, ca_certs=str(pki["ca"].cert_path)
        )
        session.open(False)
        session.close()
