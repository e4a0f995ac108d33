"""TLS contexts from IoTDB-style key and trust stores (PEM, PKCS#12, a folder of PEM files).

Used by the node's RPC server (``enable_thrift_ssl``, ``key_store_path``), by
``pipecore sql --ssl --trust-store`` and by ``iotdb-thrift-ssl-sink``.

* A **trust store** — the certificates a peer's certificate must chain to — is a PEM bundle
  (any number of ``BEGIN CERTIFICATE`` blocks; its password is ignored), one DER
  certificate, a PKCS#12 file (unlocked with its password), or a folder holding such files.
* A **key store** — our own certificate chain and private key — is one PEM file holding both
  (the key may be encrypted with the store's password), or a PKCS#12 file.
* PKCS#12 is read with the ``cryptography`` package when it is installed; without it a clear
  `KeyStoreError` says to install it or to convert the store to PEM. A Java KeyStore (JKS,
  JCEKS) is refused with the ``keytool`` command that converts it.

Relative paths are resolved against the working directory of the process, as IoTDB does.
Errors never contain a password or the contents of a file.
"""

from __future__ import annotations

import os
import re
import secrets
import ssl
import tempfile
from pathlib import Path

from pipecore_storage.errors import PipecoreError

__all__ = [
    "KeyStoreError",
    "client_context",
    "load_trusted_certificates",
    "require_client_certificates",
    "server_context",
]

_JKS_MAGIC = (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")
_MAX_STORE_BYTES = 16 << 20  # a key or trust store is a few KiB; refuse to read anything huge
_PEM_CERTS = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class KeyStoreError(PipecoreError, ValueError):
    """A key or trust store cannot be used: `path` and the `reason` (no password, no file
    contents)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# ---------------------------------------------------------------------------- reading
def _read(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > _MAX_STORE_BYTES:
            raise KeyStoreError(path, f"{size} bytes is too large for a {what}")
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError(path, f"no such {what} (relative to {Path.cwd()})") from None
    except IsADirectoryError:
        raise KeyStoreError(path, f"a folder, not a {what} file") from None
    except OSError as exc:
        raise KeyStoreError(path, f"cannot read the {what}: {exc.strerror or exc}") from None


def _jks_advice(path: Path) -> str:
    return (
        "a Java KeyStore (JKS/JCEKS), which Python cannot read: convert it to PKCS#12 "
        f"(keytool -importkeystore -srckeystore {path} -destkeystore {path.name}.p12 "
        "-deststoretype PKCS12) or export its certificates as PEM (keytool -exportcert -rfc)"
    )


def _pkcs12_module(path: Path) -> object:
    try:
        import cryptography.hazmat.primitives.serialization.pkcs12 as pkcs12
    except ImportError:
        raise KeyStoreError(
            path,
            "a PKCS#12 store, which needs the 'cryptography' package (pip install "
            "cryptography); or convert it to PEM: openssl pkcs12 -in "
            f"{path} -out {path.name}.pem (add -nokeys for a trust store)",
        ) from None
    return pkcs12


def _load_pkcs12(path: Path, data: bytes, password: str | None) -> object:
    """The parsed PKCS#12 (``cryptography``'s `PKCS12KeyAndCertificates`)."""
    pkcs12 = _pkcs12_module(path)
    tries = [password.encode()] if password else [None, b""]
    for secret in tries:
        try:
            return pkcs12.load_pkcs12(data, secret)  # type: ignore[attr-defined]
        except ValueError:
            continue
    hint = "wrong password" if password else "no password given"
    raise KeyStoreError(path, f"cannot open it as PKCS#12 ({hint}, or not a PKCS#12 file)")


def _certificates_of_file(path: Path, password: str | None) -> list[str]:
    """The certificates of one trust-store file, as PEM blocks."""
    data = _read(path, "trust store")
    if data.startswith(_JKS_MAGIC):
        raise KeyStoreError(path, _jks_advice(path))
    if b"-----BEGIN" in data:
        blocks = _PEM_CERTS.findall(data.decode("latin-1"))
        if not blocks:
            raise KeyStoreError(path, "the PEM file holds no certificate")
        return [block + "\n" for block in blocks]
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cadata=data)  # one DER certificate
        return [ssl.DER_cert_to_PEM_cert(data)]
    except ssl.SSLError:
        pass
    store = _load_pkcs12(path, data, password)
    from cryptography.hazmat.primitives.serialization import Encoding

    certs = [c.certificate for c in store.additional_certs]  # type: ignore[attr-defined]
    if store.cert is not None:  # type: ignore[attr-defined]
        certs.insert(0, store.cert.certificate)  # type: ignore[attr-defined]
    return [c.public_bytes(Encoding.PEM).decode("ascii") for c in certs]


def load_trusted_certificates(
    path: str | os.PathLike[str], password: str | None = None
) -> list[str]:
    """The certificates of the trust store at `path` (a file, or a folder of files), as PEM
    blocks. Raises `KeyStoreError` when there is none or the store cannot be read."""
    where = Path(path)
    if where.is_dir():
        found: list[str] = []
        skipped: list[str] = []
        for child in sorted(where.iterdir()):
            if not child.is_file() or child.name.startswith("."):
                continue
            try:
                found.extend(_certificates_of_file(child, password))
            except KeyStoreError as exc:  # a key, a README: not part of the trust store
                skipped.append(f"{child.name}: {exc.reason}")
        if not found:
            detail = f" ({'; '.join(skipped)})" if skipped else ""
            raise KeyStoreError(where, f"the folder holds no certificate{detail}")
        return found
    certs = _certificates_of_file(where, password)
    if not certs:
        raise KeyStoreError(where, "the trust store holds no certificate")
    return certs


def _trust(context: ssl.SSLContext, path: str | os.PathLike[str], password: str | None) -> None:
    pems = load_trusted_certificates(path, password)
    try:
        context.load_verify_locations(cadata="".join(pems))
    except ssl.SSLError as exc:
        raise KeyStoreError(path, f"a certificate cannot be read: {exc.reason or exc}") from None


def _load_key_store(
    context: ssl.SSLContext, path: str | os.PathLike[str], password: str | None
) -> None:
    """Our certificate chain and private key into `context`."""
    where = Path(path)
    data = _read(where, "key store")
    if data.startswith(_JKS_MAGIC):
        raise KeyStoreError(where, _jks_advice(where))
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" not in data:
            raise KeyStoreError(
                where,
                "the PEM file holds no private key: put the certificate chain and its key in "
                "one file (cat cert.pem key.pem > keystore.pem), or use a PKCS#12 store",
            )
        _load_chain(context, where, where, password, encrypted=b"ENCRYPTED" in data)
        return
    store = _load_pkcs12(where, data, password)
    _load_pkcs12_chain(context, where, store)


def _load_chain(
    context: ssl.SSLContext,
    where: Path,
    certfile: Path,
    password: str | None,
    *,
    encrypted: bool = False,
) -> None:
    try:
        # a callable, never None: OpenSSL would ask for an encrypted key's password on the tty
        context.load_cert_chain(certfile, password=lambda: password or "")
    except ssl.SSLError as exc:
        text = f"{exc.reason} {exc}".upper()
        if "KEY_VALUES_MISMATCH" in text:
            detail = "the private key does not belong to the certificate"
        elif encrypted or "BAD_DECRYPT" in text:
            detail = (
                "wrong password for the private key"
                if password
                else "the private key is encrypted and no password is given"
            )
        else:
            detail = str(exc.reason or exc)
        raise KeyStoreError(where, f"cannot load the certificate and key: {detail}") from None
    except (OSError, TypeError) as exc:
        raise KeyStoreError(where, f"cannot load the certificate and key: {exc}") from None


def _load_pkcs12_chain(context: ssl.SSLContext, where: Path, store: object) -> None:
    from cryptography.hazmat.primitives import serialization as ser

    key = getattr(store, "key", None)
    cert = getattr(store, "cert", None)
    if key is None or cert is None:
        raise KeyStoreError(where, "the PKCS#12 store holds no private key with its certificate")
    chain = [cert.certificate, *(c.certificate for c in store.additional_certs)]  # type: ignore[attr-defined]
    secret = secrets.token_hex(16)
    key_pem = key.private_bytes(
        ser.Encoding.PEM,
        ser.PrivateFormat.PKCS8,
        ser.BestAvailableEncryption(secret.encode()),
    )
    # ssl loads keys from files only: a private folder, the key encrypted with a one-time
    # password, both deleted at once
    with tempfile.TemporaryDirectory(prefix="pipecore-tls-") as folder:
        pem = Path(folder) / "chain.pem"
        fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            for c in chain:
                f.write(c.public_bytes(ser.Encoding.PEM))
            f.write(key_pem)
        _load_chain(context, where, pem, secret)


# ---------------------------------------------------------------------------- contexts
def server_context(
    key_store_path: str | os.PathLike[str], key_store_pwd: str | None = None
) -> ssl.SSLContext:
    """A server-side context (TLS 1.2 or later) with the certificate and key of our key
    store."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_key_store(context, key_store_path, key_store_pwd)
    return context


def require_client_certificates(
    context: ssl.SSLContext,
    trust_store_path: str | os.PathLike[str],
    trust_store_pwd: str | None = None,
) -> None:
    """Mutual TLS on a server context: every client must show a certificate that chains to
    the trust store (a client without one is refused during the TLS handshake)."""
    _trust(context, trust_store_path, trust_store_pwd)
    context.verify_mode = ssl.CERT_REQUIRED


def client_context(
    trust_store_path: str | os.PathLike[str] | None = None,
    trust_store_pwd: str | None = None,
    *,
    verify_certificate: bool = True,
    check_hostname: bool = True,
    key_store_path: str | os.PathLike[str] | None = None,
    key_store_pwd: str | None = None,
) -> ssl.SSLContext:
    """A client-side context: the server's certificate must chain to `trust_store_path` (the
    system's CAs when None) and name the host connected to — unless `verify_certificate` /
    `check_hostname` say otherwise. `key_store_path`: our certificate for mutual TLS."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = check_hostname
        if trust_store_path:
            _trust(context, trust_store_path, trust_store_pwd)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if key_store_path:
        _load_key_store(context, key_store_path, key_store_pwd)
    return context
