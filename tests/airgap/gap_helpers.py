"""Helpers of the air-gap and SSL tests: receivers of each transport (thrift, TLS, air gap)
over one store and sinks opened as pipe stages (the TCP proxies that break air-gap frames are
in `tcp_proxy`).

The thrift tests' helpers (``tests/thrift``) are reused: this module puts that folder on
``sys.path``.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import Any

_THRIFT_TESTS = str(Path(__file__).resolve().parents[1] / "thrift")
if _THRIFT_TESTS not in sys.path:
    sys.path.insert(0, _THRIFT_TESTS)

from thrift_helpers import RECEIVER_CLUSTER, SENDER_CLUSTER, OpenSink  # noqa: E402

from pipecore import (  # noqa: E402
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    StageContext,
)
from pipecore.registry import PluginRegistry  # noqa: E402
from pipecore.rpc import RpcServer  # noqa: E402
from pipecore.server.receivers import ReceiverRegistry  # noqa: E402
from pipecore.server.users import UserStore  # noqa: E402
from pipecore.stage import Stage  # noqa: E402
from pipecore_air_gap_sink import AirGapReceiver, AirGapSection  # noqa: E402
from pipecore_storage import Store  # noqa: E402
from pipecore_thrift_sink import (  # noqa: E402
    IoTDBDataNodeReceiver,
    IpWhiteList,
    ReceiverSettings,
)

__all__ = [
    "RECEIVER_CLUSTER",
    "SENDER_CLUSTER",
    "LinkReceiver",
    "free_port",
    "open_sink",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SINK_CLASSES: dict[str, type] = {}


def sink_class(name: str) -> type:
    """The class registered as sink `name` (through the entry points, as a node finds it)."""
    if not _SINK_CLASSES:
        registry = PluginRegistry()
        registry.load()
        for entry in registry.entries():
            if entry.kind == "sink":
                for alias in (entry.name, *entry.aliases):
                    _SINK_CLASSES[alias.lower()] = entry.cls
    return _SINK_CLASSES[name.lower()]


_counter = itertools.count()


def open_sink(
    tmp: Path,
    name: str,
    params: dict[str, str],
    *,
    handshake: bool = True,
    node_config: Any = None,
) -> OpenSink:
    """A sink opened as a pipe stage would be (validate, customize, handshake)."""
    context = StageContext("test-pipe", "sink", name.upper(), 0)
    stage = Stage("sink", name.upper(), sink_class(name)(), context)
    parameters = PipeParameters({"sink": name, **params})
    stage.call["connector_validate"](PipeParameterValidator(parameters))
    data_dir = tmp / f"pipe-data-{next(_counter)}"
    data_dir.mkdir(parents=True)
    config = RuntimeConfiguration("test-pipe", 0, data_dir, SENDER_CLUSTER, node_config=node_config)
    try:
        stage.call["connector_customize"](parameters, config)
        sink = OpenSink(stage)
        if handshake:
            stage.call["connector_handshake"]()
    except BaseException:
        stage.close()
        raise
    return sink


class LinkReceiver:
    """pipecore's receiver over one transport — ``thrift`` (RPC), ``tls`` (RPC over TLS with
    `server_context`) or ``air-gap`` — writing into its own store."""

    def __init__(
        self,
        tmp: Path,
        transport: str,
        name: str = "receiver",
        *,
        server_context: ssl.SSLContext | None = None,
        section: AirGapSection | None = None,
        **overrides: Any,
    ) -> None:
        self.transport = transport
        self.store = Store.open(tmp / f"{name}-store")
        self.registry = ReceiverRegistry()
        self.users = UserStore(tmp / f"{name}-users.json")
        self.settings = ReceiverSettings(
            store=self.store,
            cluster_id=overrides.pop("cluster_id", RECEIVER_CLUSTER),
            base_dir=tmp / f"{name}-pieces",
            white_list=IpWhiteList(overrides.pop("white_list", "127.0.0.1/32")),
            users=self.users,
            registry=self.registry,
            **overrides,
        )
        self.server: RpcServer | None = None
        self.air_gap: AirGapReceiver | None = None
        if transport == "air-gap":
            self.air_gap = AirGapReceiver(self.settings, "127.0.0.1", 0, section=section).start()
            self.port = self.air_gap.address[1]
        else:
            assert (transport == "tls") == (server_context is not None), transport
            self.server = RpcServer("127.0.0.1", 0, ssl_context=server_context)
            self.server.register_pipe_receiver(
                lambda ctx: IoTDBDataNodeReceiver(self.settings, ctx.remote_address)
            )
            self.server.start()
            self.port = self.server.address[1]

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def points(self, pattern: str = "root.**") -> int:
        result = self.store.query(pattern)
        return int(sum((~m).sum() for m in result.null_masks))

    def close(self) -> None:
        if self.air_gap is not None:
            self.air_gap.stop()
        if self.server is not None:
            self.server.stop()
        if not self.store.closed:
            self.store.close()


def wait_until(condition: Any, timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def store_as_tablets(store: Store, order: dict[str, list[str]] | None = None) -> list[Any]:
    """Every device of `store` as one tablet (what the conformance kit compares with what it
    sent), measurements in the order `order` gives per device (else sorted)."""
    from pipecore_storage import Tablet

    out = []
    series_all = store.list_series("root.**")
    for device in sorted({s.device for s in series_all}):
        series = [s for s in series_all if s.device == device]
        rank = (order or {}).get(device) or sorted(s.measurement for s in series)
        series.sort(key=lambda s: rank.index(s.measurement) if s.measurement in rank else 99)
        result = store.query([s.path for s in series])
        out.append(
            Tablet(
                device,
                [s.schema for s in series],
                result.timestamps,
                list(result.values),
                list(result.null_masks),
                series[0].aligned,
            )
        )
    return out
