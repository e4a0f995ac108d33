"""Fixtures of the air-gap tests, and `link`: every transport test of tests/airgap/
test_airgap_links.py runs against each implementation — the thrift sink (plain), the SSL
sink (TLS) and the air-gap sink — each with pipecore's receiver on that transport."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, _HERE.parent / "ssl", _HERE.parent / "thrift"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from gap_helpers import LinkReceiver, open_sink  # noqa: E402
from ssl_helpers import Pki  # noqa: E402

SINK_OF = {
    "thrift": "iotdb-thrift-sync-sink",
    "tls": "iotdb-thrift-ssl-sink",
    "air-gap": "iotdb-air-gap-sink",
}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@attrs.define
class Link:
    """A receiver on one transport and how a sink reaches it."""

    transport: str
    receiver: LinkReceiver
    sink_name: str
    base: dict[str, str]

    def params(self, **more: str) -> dict[str, str]:
        return {**self.base, **more}


@pytest.fixture
def make_link(tmp_path: Path, pki: Pki) -> Iterator[Callable[..., Link]]:
    made: list[LinkReceiver] = []

    def make(transport: str, name: str = "receiver", **overrides: Any) -> Link:
        context = pki.server_context() if transport == "tls" else None
        receiver = LinkReceiver(tmp_path, transport, name, server_context=context, **overrides)
        made.append(receiver)
        base = {"sink.node-urls": receiver.url}
        if transport == "tls":
            base |= {"ssl.trust-store-path": str(pki.ca_pem), "ssl.trust-store-pwd": ""}
        return Link(transport, receiver, SINK_OF[transport], base)

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture(params=sorted(SINK_OF))
def link(request: pytest.FixtureRequest, make_link: Callable[..., Link]) -> Link:
    """Each transport in turn."""
    return make_link(request.param)


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``sinks(name, params, handshake=True, node_config=None)``: open a sink stage; all are
    closed after the test."""
    opened: list[Any] = []

    def _open(name: str, params: dict[str, str], **kwargs: Any) -> Any:
        sink = open_sink(tmp_path, name, params, **kwargs)
        opened.append(sink)
        return sink

    yield _open
    for sink in opened:
        sink.close()
