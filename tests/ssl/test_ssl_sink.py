"""``iotdb-thrift-ssl-sink`` against pipecore's receiver behind TLS, with real certificates
made for the test: every trust-store form, the server's certificate and host name verified
(untrusted, wrong host, expired: refused with a clear message, also in SHOW PIPES), turning
verification off, mutual TLS, the options' errors, secrets never shown."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pytest
from gap_helpers import LinkReceiver
from ssl_helpers import KEY_PWD, TRUST_PWD, Pki
from thrift_helpers import assert_same_points, double_tablet

from pipecore import Config, Node, PipeConnectionError, PipeParameterNotValidError
from pipecore.rpc.tls import require_client_certificates
from pipecore.sql import SqlError
from pipecore_ssl_sink import ServerCertificateError
from pipecore_thrift_sink import ThriftSinkSection

SINK = "iotdb-thrift-ssl-sink"


def ssl_params(receiver: LinkReceiver, store: Path | str, pwd: str = "", **more: str) -> dict:
    return {
        "sink.node-urls": receiver.url,
        "ssl.trust-store-path": str(store),
        "ssl.trust-store-pwd": pwd,
        "sink.batch.max-delay-ms": "5",
        **more,
    }


def moves_a_tablet(sink, receiver: LinkReceiver, device: str = "root.tls.d1") -> None:
    tablet = double_tablet(device, 0, 50)
    sink.tablet(tablet)
    assert_same_points(receiver.store, tablet)


# ------------------------------------------------------------------ trust stores
@pytest.mark.parametrize("form", ["pem", "pem-with-seed-password", "pkcs12", "folder"])
def test_every_trust_store_form(ssl_pki: Pki, tls_receiver, ssl_sinks, form):
    receiver = tls_receiver()
    store, pwd = {
        "pem": (ssl_pki.ca_pem, ""),
        "pem-with-seed-password": (ssl_pki.ca_pem, TRUST_PWD),  # ignored for PEM
        "pkcs12": (ssl_pki.trust_p12(), TRUST_PWD),
        "folder": (ssl_pki.trust_folder(), ""),
    }[form]
    sink = ssl_sinks(SINK, ssl_params(receiver, store, pwd))
    moves_a_tablet(sink, receiver)


def test_unreadable_trust_stores_are_named(ssl_pki: Pki, tls_receiver, ssl_sinks):
    receiver = tls_receiver()
    cases = [
        (ssl_pki.trust_p12(), "wrong-pwd", "wrong password"),
        (ssl_pki.jks(), "x", "keytool -importkeystore"),
        (ssl_pki.folder / "missing.pem", "", "no such trust store"),
        (ssl_pki.client.key_path, "", "holds no certificate"),
    ]
    key = r"sink\.ssl\.trust-store-path"
    for store, pwd, reason in cases:
        with pytest.raises(PipeParameterNotValidError, match=key) as info:
            ssl_sinks(SINK, ssl_params(receiver, store, pwd))
        assert reason in str(info.value) and str(store) in str(info.value)
        assert "wrong-pwd" not in str(info.value)  # never the password


def test_pkcs12_without_cryptography_says_what_to_do(ssl_pki: Pki, monkeypatch):
    from pipecore.rpc import tls

    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.serialization.pkcs12", None)
    with pytest.raises(tls.KeyStoreError, match="needs the 'cryptography' package") as info:
        tls.load_trusted_certificates(ssl_pki.trust_p12(), TRUST_PWD)
    assert "openssl pkcs12" in str(info.value)
    assert len(tls.load_trusted_certificates(ssl_pki.ca_pem)) == 1  # PEM needs nothing more


# ------------------------------------------------------------------ verification
@pytest.mark.parametrize(
    ("cert", "message"),
    [
        ("rogue_server", "the server's certificate is not trusted"),
        ("wrong_host", "is not valid for '127.0.0.1'"),
        ("expired", "the server's certificate has expired"),
    ],
)
def test_a_certificate_that_does_not_verify_is_refused(
    ssl_pki: Pki, tls_receiver, ssl_sinks, cert, message
):
    receiver = tls_receiver(getattr(ssl_pki, cert))
    with pytest.raises(ServerCertificateError, match=message) as info:
        ssl_sinks(SINK, ssl_params(receiver, ssl_pki.ca_pem))
    assert info.value.endpoint == receiver.url and str(info.value).startswith(
        f"receiver {receiver.url}: TLS: "
    )
    assert receiver.points() == 0


def test_host_name_check_off_accepts_a_trusted_certificate_for_another_name(
    ssl_pki: Pki, tls_receiver, ssl_sinks, caplog
):
    receiver = tls_receiver(ssl_pki.wrong_host)
    params = ssl_params(receiver, ssl_pki.ca_pem, **{"ssl.verify-hostname": "false"})
    with caplog.at_level(logging.WARNING, "pipecore.ssl_sink"):
        sink = ssl_sinks(SINK, params)
    assert any("ssl.verify-hostname=false" in r.getMessage() for r in caplog.records)
    moves_a_tablet(sink, receiver)
    rogue = tls_receiver(ssl_pki.rogue_server)  # the certificate itself is still checked
    with pytest.raises(ServerCertificateError, match="not trusted"):
        ssl_sinks(SINK, ssl_params(rogue, ssl_pki.ca_pem, **{"ssl.verify-hostname": "false"}))


def test_certificate_check_off_encrypts_without_authenticating(
    ssl_pki: Pki, tls_receiver, ssl_sinks, caplog
):
    receiver = tls_receiver(ssl_pki.rogue_server)
    params = {
        "sink.node-urls": receiver.url,
        "sink.ssl.verify-certificate": "false",
        "sink.batch.max-delay-ms": "5",
    }
    with caplog.at_level(logging.WARNING, "pipecore.ssl_sink"):
        sink = ssl_sinks(SINK, params)  # no trust store needed then
    assert any("not verified at all" in r.getMessage() for r in caplog.records)
    moves_a_tablet(sink, receiver)


def test_a_plain_receiver_is_not_mistaken_for_tls(ssl_pki: Pki, ssl_sinks, tmp_path):
    plain = LinkReceiver(tmp_path, "thrift", "plain")
    config = Config.load(
        env={}, sections=[ThriftSinkSection], overrides={"pipe_sink_handshake_timeout_ms": 300}
    )
    try:
        with pytest.raises(PipeConnectionError, match="TLS handshake failed"):
            ssl_sinks(SINK, ssl_params(plain, ssl_pki.ca_pem), node_config=config)
    finally:
        plain.close()


# ------------------------------------------------------------------ mutual TLS
@pytest.mark.parametrize("key_store", ["pem", "pkcs12"])
def test_mutual_tls_needs_the_sinks_certificate(ssl_pki: Pki, tls_receiver, ssl_sinks, key_store):
    context = ssl_pki.server_context()
    require_client_certificates(context, ssl_pki.ca_pem)
    receiver = tls_receiver(context=context)
    with pytest.raises(PipeConnectionError, match="requires client certificates"):
        ssl_sinks(SINK, ssl_params(receiver, ssl_pki.ca_pem))
    path, pwd = (
        (ssl_pki.key_pem(ssl_pki.client, KEY_PWD), KEY_PWD)
        if key_store == "pem"
        else (ssl_pki.key_p12(ssl_pki.client), KEY_PWD)
    )
    params = ssl_params(
        receiver, ssl_pki.ca_pem, **{"ssl.key-store-path": str(path), "ssl.key-store-pwd": pwd}
    )
    moves_a_tablet(ssl_sinks(SINK, params), receiver)


# ------------------------------------------------------------------ options
def test_option_spellings_and_errors(ssl_pki: Pki, tls_receiver, ssl_sinks):
    receiver = tls_receiver()
    ca = str(ssl_pki.ca_pem)
    sink = ssl_sinks(
        SINK,
        {
            "sink.node-urls": receiver.url,
            "sink.ssl.trust-store-path": ca,
            "sink.ssl.trust-store-pwd": "",
            "sink.batch.enable": "false",
        },
    )
    moves_a_tablet(sink, receiver)
    bad = [
        ({"connector.ssl.trust-store-path": ca, "ssl.trust-store-pwd": ""}, "not accepted"),
        ({"ssl.trust-store-path": ca}, "ssl.trust-store-pwd must be specified"),
        ({"ssl.trust-store-pwd": "x"}, "ssl.trust-store-path and ssl.trust-store-pwd must"),
        ({"ssl.trust-store-path": "", "ssl.trust-store-pwd": ""}, "is empty"),
        ({"ssl.trust-store-path": ca, "ssl.trust-store-pwd": "", "ssl.enable": "false"}, "always"),
        (
            {"ssl.trust-store-path": ca, "ssl.trust-store-pwd": "", "ssl.verify-hostname": "no"},
            "expected true or false",
        ),
    ]
    for params, message in bad:
        with pytest.raises(PipeParameterNotValidError, match=message):
            ssl_sinks(SINK, {"sink.node-urls": receiver.url, **params})


@pytest.mark.parametrize(
    "sink", ["iotdb-thrift-sink", "iotdb-thrift-async-sink", "iotdb-thrift-sync-sink"]
)
@pytest.mark.parametrize(
    "option",
    [
        {"sink.ssl.enable": "true"},
        {"ssl.enable": "true"},
        {"ssl.trust-store-path": "pki/trusted"},
        {"sink.ssl.trust-store-pwd": "root"},
        {"connector.ssl.trust-store-path": "pki/trusted"},
    ],
)
def test_other_thrift_sinks_refuse_ssl_options(tls_receiver, ssl_sinks, sink, option):
    receiver = tls_receiver()
    with pytest.raises(
        PipeParameterNotValidError,
        match=r"^Only 'iotdb-thrift-ssl-sink' supports SSL transmission currently\.$",
    ):
        ssl_sinks(sink, {"sink.node-urls": receiver.url, **option})


# ------------------------------------------------------------------ on nodes
def test_refusals_are_clear_at_create_and_in_show_pipes(ssl_pki: Pki, tmp_path, caplog):
    fast = {
        "pipe_subtask_executor_cron_heartbeat_event_interval_seconds": 0.3,
        "pipe_sink_retry_interval_ms": 50,
    }
    with Node.open(tmp_path / "r") as r, Node.open(tmp_path / "s", fast) as s:
        _host, port = r.serve("127.0.0.1", 0, ssl_context=ssl_pki.server_context(ssl_pki.expired))
        secret = "pwd-that-must-not-show"
        sink = (
            f"'sink'='{SINK}', 'sink.ip'='127.0.0.1', 'sink.port'='{port}', "
            f"'ssl.trust-store-path'='{ssl_pki.trust_p12(secret)}', "
            f"'ssl.trust-store-pwd'='{secret}'"
        )
        with pytest.raises(SqlError, match="the server's certificate has expired"):
            s.execute(f"create pipe a2b with sink ({sink})")
        with caplog.at_level(logging.DEBUG):
            s.execute(f"create pipe a2b with sink ({sink}, 'sink.handshake-on-create'='false')")
            s.execute("create database root.show")
            s.execute("insert into root.show.d(timestamp, s) values (1, 1.0)")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                [row] = s.execute("show pipes").rows
                if row[2] == "STOPPED":
                    break
                time.sleep(0.1)
        assert row[2] == "STOPPED", row
        assert "TLS: the server's certificate has expired" in str(row[6]), row
        shown = s.execute("show pipes").render()
        assert "ssl.trust-store-pwd=******" in shown and secret not in shown
        assert not [rec for rec in caplog.records if secret in rec.getMessage()]
