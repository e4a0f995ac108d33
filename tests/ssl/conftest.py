"""Fixtures of the TLS tests: a PKI made for the session (tests/ssl/ssl_helpers.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, _HERE.parent / "airgap", _HERE.parent / "thrift"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from gap_helpers import LinkReceiver, open_sink  # noqa: E402
from ssl_helpers import Pki  # noqa: E402


@pytest.fixture(scope="session")
def ssl_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("ssl-pki"))


@pytest.fixture
def tls_receiver(tmp_path: Path, ssl_pki: Pki) -> Iterator[Callable[..., LinkReceiver]]:
    """``tls_receiver(cert=None, name=...)``: pipecore's receiver behind TLS with `cert`."""
    made: list[LinkReceiver] = []

    def make(cert: Any = None, name: str | None = None, context: Any = None) -> LinkReceiver:
        ctx = context if context is not None else ssl_pki.server_context(cert)
        receiver = LinkReceiver(tmp_path, "tls", name or f"tls{len(made)}", server_context=ctx)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def ssl_sinks(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def _open(name: str, params: dict[str, str], **kwargs: Any) -> Any:
        sink = open_sink(tmp_path, name, params, **kwargs)
        opened.append(sink)
        return sink

    yield _open
    for sink in opened:
        sink.close()
