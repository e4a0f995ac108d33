"""TLS on the receiving node: ``enable_thrift_ssl`` with a PKCS#12 or PEM key store, mutual TLS
(``enable_thrift_ssl_client_auth``), clear configuration errors, and ``pipecore sql --ssl``."""

from __future__ import annotations

import contextlib
import io

import pytest
from ssl_helpers import KEY_PWD, TRUST_PWD, Pki

from pipecore import ConfigError, Node
from pipecore.cli import main
from pipecore.cli.remote import RemoteSession
from pipecore.rpc.errors import RpcConnectionError
from pipecore.rpc.tls import client_context


def serve(tmp_path, name: str, config: dict) -> tuple[Node, int]:
    node = Node.open(tmp_path / name, config)
    try:
        _host, port = node.serve("127.0.0.1", 0)
    except BaseException:
        node.close()
        raise
    return node, port


def session_works(port: int, context) -> bool:
    with RemoteSession("127.0.0.1", port, ssl_context=context, timeout=10) as remote:
        return remote.run("show databases").data is not None


@pytest.mark.parametrize("form", ["pkcs12", "pem", "pem-encrypted"])
def test_key_store_forms(ssl_pki: Pki, tmp_path, form):
    path, pwd = {
        "pkcs12": (ssl_pki.key_p12(), KEY_PWD),
        "pem": (ssl_pki.key_pem(), ""),
        "pem-encrypted": (ssl_pki.key_pem(password=KEY_PWD), KEY_PWD),
    }[form]
    config = {"enable_thrift_ssl": True, "key_store_path": str(path), "key_store_pwd": pwd}
    node, port = serve(tmp_path, form, config)
    try:
        assert session_works(port, ssl_pki.client_context())
        with pytest.raises(RpcConnectionError):  # the whole port is TLS now
            RemoteSession("127.0.0.1", port, timeout=3).open()
    finally:
        node.close()


def test_key_store_errors_name_the_key(ssl_pki: Pki, tmp_path):
    cases = [
        ({"key_store_path": str(ssl_pki.key_p12()), "key_store_pwd": "nope"}, "wrong password"),
        (
            {"key_store_path": str(ssl_pki.key_pem(password=KEY_PWD)), "key_store_pwd": "nope"},
            "wrong password",
        ),
        ({"key_store_path": str(ssl_pki.server.cert_path)}, "holds no private key"),
        ({"key_store_path": str(ssl_pki.jks())}, "keytool -importkeystore"),
        ({"key_store_path": str(tmp_path / "none.p12")}, "no such key store"),
        ({}, "key_store_path is empty"),
    ]
    for i, (config, message) in enumerate(cases):
        with Node.open(tmp_path / f"n{i}", {"enable_thrift_ssl": True, **config}) as node:
            with pytest.raises(ConfigError, match="key_store_path") as info:
                node.serve("127.0.0.1", 0)
            assert message in str(info.value) and "nope" not in str(info.value)
            assert node.server is None


def test_mutual_tls_refuses_a_client_without_a_certificate(ssl_pki: Pki, tmp_path):
    config = {
        "enable_thrift_ssl": True,
        "key_store_path": str(ssl_pki.key_p12()),
        "key_store_pwd": KEY_PWD,
        "enable_thrift_ssl_client_auth": True,
        "trust_store_path": str(ssl_pki.trust_p12()),
        "trust_store_pwd": TRUST_PWD,
    }
    node, port = serve(tmp_path, "mtls", config)
    try:
        with pytest.raises(RpcConnectionError):
            session_works(port, ssl_pki.client_context())  # no client certificate
        rogue_client = ssl_pki.rogue.issue("rogue-client", hosts=(), client=True)
        with pytest.raises(RpcConnectionError):
            session_works(
                port,
                client_context(ssl_pki.ca_pem, key_store_path=ssl_pki.key_pem(rogue_client)),
            )
        with_cert = client_context(ssl_pki.ca_pem, key_store_path=ssl_pki.key_pem(ssl_pki.client))
        assert session_works(port, with_cert)
    finally:
        node.close()


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"enable_thrift_ssl_client_auth": True}, "enable_thrift_ssl_client_auth"),
        ({"enable_thrift_ssl": True, "enable_thrift_ssl_client_auth": True}, "trust_store_path"),
    ],
)
def test_mutual_tls_configuration_errors(ssl_pki: Pki, tmp_path, config, key):
    config = {**config}
    if config.get("enable_thrift_ssl"):
        config["key_store_path"] = str(ssl_pki.key_pem())
    with Node.open(tmp_path / "n", config) as node, pytest.raises(ConfigError, match=key):
        node.serve("127.0.0.1", 0)


# ------------------------------------------------------------------ pipecore sql
def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["sql", *args])
    return code, out.getvalue(), err.getvalue()


def test_pipecore_sql_over_tls(ssl_pki: Pki, tmp_path):
    config = {
        "enable_thrift_ssl": True,
        "key_store_path": str(ssl_pki.key_pem()),
        "enable_thrift_ssl_client_auth": False,
    }
    node, port = serve(tmp_path, "cli", config)
    target = ["-h", "127.0.0.1", "-p", str(port)]
    try:
        code, out, err = cli(*target, "--ssl", "--trust-store", str(ssl_pki.ca_pem), "-e",
                             "create database root.cli; show databases")  # fmt: skip
        assert code == 0, err
        assert "root.cli" in out
        # IoTDB's spelling, a PKCS#12 trust store
        code, out, err = cli(*target, "-usessl", "true", "-ts", str(ssl_pki.trust_p12()),
                             "-tpw", TRUST_PWD, "-e", "show databases")  # fmt: skip
        assert code == 0 and "root.cli" in out, err
        code, out, err = cli(*target, "--ssl", "--trust-store", str(ssl_pki.rogue.cert_path),
                             "-e", "show databases")  # fmt: skip
        assert code == 1 and "not trusted" in err, err
        code, out, err = cli(*target, "--ssl", "--trust-store", str(ssl_pki.trust_p12()),
                             "--trust-store-pwd", "wrong", "-e", "show databases")  # fmt: skip
        assert code == 2 and "--trust-store" in err and "wrong password" in err, err
        code, out, err = cli(*target, "-e", "show databases")  # plain TCP to a TLS port
        assert code == 1 and err.startswith("pipecore sql: "), err
    finally:
        node.close()
