"""Helpers of the TLS tests: a PKI made in the test (tests/tls_certs.py) with every store
format pipecore reads — PEM bundles, PKCS#12 trust and key stores, a folder — and server
contexts for trusted, untrusted, expired and wrong-host certificates."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE.parent / "airgap", _HERE.parent / "thrift"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from tls_certs import CertificateAuthority, IssuedCert  # noqa: E402

__all__ = ["Pki"]

TRUST_PWD = "root"  # seed 002's 'ssl.trust-store-pwd'='root'
KEY_PWD = "s3cret"


def _cert(issued: IssuedCert) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued.cert_path.read_bytes())


def _key(issued: IssuedCert) -> object:
    return serialization.load_pem_private_key(issued.key_path.read_bytes(), None)


class Pki:
    """Certificates for one test: `ca` signs `server` (127.0.0.1, localhost), `expired`,
    `wrong_host` (other.example only) and `client`; `rogue` is a CA nobody trusts."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._stores = 0
        self.ca = CertificateAuthority(folder, "pipecore-test")
        self.rogue = CertificateAuthority(folder, "rogue")
        self.server = self.ca.issue("server")
        self.expired = self.ca.issue("expired", expired=True)
        self.wrong_host = self.ca.issue("wrong-host", hosts=("other.example",))
        self.client = self.ca.issue("client", hosts=(), client=True)
        self.rogue_server = self.rogue.issue("rogue-server")

    # ------------------------------------------------------------------ trust stores
    @property
    def ca_pem(self) -> Path:
        return self.ca.cert_path

    def trust_p12(self, password: str = TRUST_PWD) -> Path:
        """The CA in a PKCS#12 trust store (certificates only, as keytool makes them)."""
        self._stores += 1
        path = self.folder / f"trust-{self._stores}.p12"
        encryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(None, None, None, [self.ca.cert], encryption)
        )
        return path

    def trust_folder(self) -> Path:
        """A folder with the CA's PEM (and a file that is no certificate)."""
        path = self.folder / "trusted"
        path.mkdir(exist_ok=True)
        (path / "ca.pem").write_bytes(self.ca.cert_path.read_bytes())
        (path / "README").write_text("certificates this node trusts\n")
        return path

    def jks(self) -> Path:
        path = self.folder / "truststore.jks"
        path.write_bytes(b"\xfe\xed\xfe\xed\x00\x00\x00\x02" + b"\x00" * 64)
        return path

    # ------------------------------------------------------------------ key stores
    def key_pem(self, issued: IssuedCert | None = None, password: str | None = None) -> Path:
        """`issued`'s certificate and key in one PEM file (the key encrypted with
        `password`)."""
        issued = issued or self.server
        key = _key(issued)
        encryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        key_bytes = key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        locked = "-encrypted" if password else ""
        path = self.folder / f"{issued.cert_path.stem}-keystore{locked}.pem"
        path.write_bytes(issued.cert_path.read_bytes() + key_bytes)
        return path

    def key_p12(self, issued: IssuedCert | None = None, password: str = KEY_PWD) -> Path:
        issued = issued or self.server
        path = self.folder / f"{issued.cert_path.stem}-keystore.p12"
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                issued.cert_path.stem.encode(),
                _key(issued),  # type: ignore[arg-type]
                _cert(issued),
                [self.ca.cert],
                serialization.BestAvailableEncryption(password.encode()),
            )
        )
        return path

    # ------------------------------------------------------------------ contexts
    def server_context(self, issued: IssuedCert | None = None) -> ssl.SSLContext:
        issued = issued or self.server
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(issued.cert_path, issued.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca.cert_path))
