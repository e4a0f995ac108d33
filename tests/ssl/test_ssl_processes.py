"""Seed 002's SSL example between two real `pipecore serve` processes on loopback: node B
serves its RPC port over TLS only (``enable_thrift_ssl`` with a PKCS#12 key store); node A,
started in a folder holding ``pki/trusted`` (a PKCS#12 trust store with the seed's password
``root``), runs the guide's CREATE PIPE as written — the relative trust-store path, the
password, even the missing comma — pointed at B; the data matches."""

from __future__ import annotations

from pathlib import Path

import pytest
from gap_processes import Serve, point_at, seed_examples
from ssl_helpers import KEY_PWD, TRUST_PWD, Pki
from thrift_processes import start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_seed_ssl_example(tmp_path: Path, ssl_pki: Pki):
    [example] = seed_examples("iotdb-thrift-ssl-sink")
    assert "'ssl.trust-store-path'='pki/trusted'" in example
    home = tmp_path / "home-of-A"
    trusted = home / "pki" / "trusted"
    trusted.mkdir(parents=True)
    (trusted / "ca.p12").write_bytes(ssl_pki.trust_p12(TRUST_PWD).read_bytes())
    b_config = {
        "enable_thrift_ssl": True,
        "key_store_path": str(ssl_pki.key_p12()),
        "key_store_pwd": KEY_PWD,
    }
    b, a = start_all(
        Serve(tmp_path, "B", b_config, client_context=ssl_pki.client_context()),
        Serve(tmp_path, "A", cwd=home),
    )
    try:
        values = ", ".join(f"({t}, {t}, {t * 0.5})" for t in range(200))
        a.sql(f"insert into root.ssl.history(timestamp, a, b) values {values}")
        a.sql("flush")
        a.sql(point_at(example, "127.0.0.1", b.port))
        a.sql("insert into root.ssl.realtime(timestamp, a) values (1, 1), (2, 2)")
        expected = a.count("root.ssl.**")
        wait_for(lambda: b.count("root.ssl.**") == expected, 60, "every point", (a, b))
        assert a.rows("select ** from root.ssl.**") == b.rows("select ** from root.ssl.**")
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "A2B"]
        assert row[2] == "RUNNING" and "ssl.trust-store-pwd=******" in str(row[5])
        assert "'root'" not in str(row[5]) and "=root," not in str(row[5])
    finally:
        a.stop()
        b.stop()
