"""`pipecore serve` with root's default password on a non-loopback address: refused, with how
to serve anyway (nothing is bound: the check comes first)."""

from __future__ import annotations

from cli_helpers import run_pipecore

NOT_LOCAL = "192.0.2.1"  # TEST-NET-1: never an address of this machine (binding it fails)


def test_pipecore_serve_says_how_to_serve_anyway(tmp_path):
    r = run_pipecore("serve", "--data-dir", str(tmp_path / "node"), "--rpc-address", NOT_LOCAL)
    assert r.returncode == 2, r.stderr
    assert "allow_default_password_on_network=true" in r.stderr
    assert "passwd root" in r.stderr and "Traceback" not in r.stderr
