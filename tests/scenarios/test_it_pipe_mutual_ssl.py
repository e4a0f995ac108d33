"""IoTDB's IoTDBPipeMutualSSLIT (pipe/it/dual/treemodel/auto/basic): `iotdb-thrift-ssl-sink`
with a key store and a trust store sends to a receiver whose RPC port is TLS and requires a
client certificate (`enable_thrift_ssl`, client auth on).

As in the IT, one key store (`test-keystore`, password `thrift`) and one trust store
(`test-truststore`) serve both sides: a certificate good for server and client use, issued
here by a CA made in the test (tests/tls_certs.py), in PKCS#12 stores. The receiver is a node
of its own (its RPC port speaks TLS only); the auto pair's sender sends."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from iotdb.Session import Session
from iotdb_it import ItNode, assert_data_eventually, create_pipe
from tls_certs import CertificateAuthority

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

STORE_PASSWORD = "thrift"


class Stores:
    """The IT's `test-keystore` / `test-truststore`, and PEM copies for the Python client."""

    def __init__(self, folder: Path) -> None:
        ca = CertificateAuthority(folder, "pipe-mtls")
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotdb")]))
            .issuer_name(ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=10))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(ca.key, hashes.SHA256())
        )
        locked = serialization.BestAvailableEncryption(STORE_PASSWORD.encode())
        self.key_store = folder / "test-keystore"
        self.key_store.write_bytes(
            pkcs12.serialize_key_and_certificates(b"iotdb", key, cert, [ca.cert], locked)
        )
        self.trust_store = folder / "test-truststore"
        self.trust_store.write_bytes(
            pkcs12.serialize_key_and_certificates(None, None, None, [ca.cert], locked)
        )
        self.ca_pem = ca.cert_path
        self.cert_pem = folder / "iotdb.pem"
        self.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_pem = folder / "iotdb.key"
        self.key_pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[ItNode, Stores]]:
    stores = Stores(tmp_path)
    receiver = ItNode(
        tmp_path,
        "mtls-receiver",
        {
            "enable_auto_create_schema": True,
            "enable_thrift_ssl": True,
            "enable_thrift_ssl_client_auth": True,
            "key_store_path": str(stores.key_store),
            "key_store_pwd": STORE_PASSWORD,
            "trust_store_path": str(stores.trust_store),
            "trust_store_pwd": STORE_PASSWORD,
        },
    )
    receiver.start()
    try:
        yield receiver, stores
    finally:
        receiver.stop()


def _tls_client(receiver: ItNode, stores: Stores, with_certificate: bool = True) -> Session:
    """The IT's JDBC connection with use_ssl, trust store and key store."""
    certificate = (
        {"client_cert": str(stores.cert_pem), "client_key": str(stores.key_pem)}
        if with_certificate
        else {}
    )
    session = Session(
        "127.0.0.1",
        receiver.port,
        "root",
        "root",
        use_ssl=True,
        ca_certs=str(stores.ca_pem),
        **certificate,
    )
    session.open(False)
    return session


def test_pipe_can_transfer_with_mutual_ssl(auto_env, tls_receiver) -> None:
    """testPipeCanTransferWithMutualSSL."""
    sender, _ = auto_env
    receiver, stores = tls_receiver
    sender.execute(
        "insert into root.pipe_mtls.d1(time, s1) values (1, 11)",
        "insert into root.pipe_mtls.d1(time, s1) values (2, 22)",
        "flush",
    )
    create_pipe(
        sender,
        "testPipe",
        source={"source.realtime.mode": "log", "source.user": "root"},
        sink={
            "sink": "iotdb-thrift-ssl-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.ssl.trust-store-path": str(stores.trust_store),
            "sink.ssl.trust-store-pwd": STORE_PASSWORD,
            "sink.ssl.key-store-path": str(stores.key_store),
            "sink.ssl.key-store-pwd": STORE_PASSWORD,
        },
        start=False,  # the IT only creates it: a created pipe runs
    )
    sender.execute("insert into root.pipe_mtls.d1(time, s1) values (3, 33)", "flush")
    receiver._client = _tls_client(receiver, stores)
    assert_data_eventually(
        receiver,
        "select s1 from root.pipe_mtls.d1",
        "Time,root.pipe_mtls.d1.s1,",
        ["1,11.0,", "2,22.0,", "3,33.0,"],
    )
    # not in the IT: the receiver does require the client's certificate
    with pytest.raises(Exception):  # noqa: B017  (the TLS handshake's refusal)
        _tls_client(receiver, stores, with_certificate=False).execute_query_statement(
            "show databases"
        )
