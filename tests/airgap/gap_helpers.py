"""Helpers of the air-gap and SSL tests: receivers of each transport (thrift, TLS, air gap)
over one store, sinks opened as pipe stages, and TCP proxies that break air-gap frames.

The thrift tests' helpers (``tests/thrift``) are reused: this module puts that folder on
``sys.path``.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
import ssl
import sys
import threading
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
    "FrameBreakingProxy",
    "LinkReceiver",
    "SilentProxy",
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


# ---------------------------------------------------------------------------- proxies
class _Proxy:
    """A TCP proxy on 127.0.0.1 in front of `target_port`; subclasses decide what happens to
    the bytes of each connection (`upstream` = sender → receiver)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.lock = threading.Lock()
        self._closed = False
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections += 1
                number = self.connections
                self._socks += [client, upstream]
            state = self.new_connection(number)
            for src, dst, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(src, dst, up, state, (client, upstream)), daemon=True
                ).start()

    def new_connection(self, number: int) -> dict[str, Any]:
        return {}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        """The bytes to pass on, and whether to cut the connection after them."""
        return data, False

    def _pump(self, src, dst, upstream, state, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    out, cut = self.forward(data, upstream, state)
                if out:
                    dst.sendall(out)
                if cut:
                    break
        except OSError:
            pass
        finally:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()


class FrameBreakingProxy(_Proxy):
    """Breaks the sender's byte stream, at most once per connection, at a random byte past
    the first `skip` bytes: ``flip`` XORs one byte (a CRC mismatch for the receiver),
    ``truncate`` passes the bytes before it and cuts the connection (a frame cut short),
    ``cut`` cuts it right there. `faults` is how many are left to do; `done` counts each
    kind done."""

    KINDS = ("flip", "truncate", "cut")

    def __init__(
        self,
        target_port: int,
        faults: int,
        kinds: tuple[str, ...] = KINDS,
        seed: int = 11,
        skip: int = 0,
        span: int = 60_000,
    ) -> None:
        self.rng = random.Random(seed)
        self.faults = faults
        self.kinds = kinds
        self.skip = skip
        self.span = span
        self.done = dict.fromkeys(self.KINDS, 0)
        super().__init__(target_port)

    def new_connection(self, number: int) -> dict[str, Any]:
        with self.lock:
            if self.faults <= 0:
                return {"at": None}
            self.faults -= 1
            return {
                "at": self.skip + self.rng.randrange(self.span),
                "kind": self.rng.choice(self.kinds),
                "seen": 0,
            }

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        at = state.get("at")
        if not upstream or at is None:
            return data, False
        start = state["seen"]
        state["seen"] += len(data)
        if not start <= at < start + len(data):
            return data, False
        state["at"] = None
        i = at - start
        kind = state["kind"]
        self.done[kind] += 1
        if kind == "flip":
            out = bytearray(data)
            out[i] ^= 1 << self.rng.randrange(8)
            return bytes(out), False
        if kind == "truncate":
            return data[:i], True
        return b"", True


class SilentProxy(_Proxy):
    """Passes everything, except that on the first connection the receiver's answer to the
    request number `swallow` (1 = the first) is dropped and nothing is answered any more —
    a receiver that stays silent. `silenced` tells whether that happened."""

    def __init__(self, target_port: int, swallow: int = 2) -> None:
        self.swallow = swallow
        self.silenced = threading.Event()
        super().__init__(target_port)

    def new_connection(self, number: int) -> dict[str, Any]:
        return {"replies": 0, "silent": number == 1}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        if upstream or not state["silent"]:
            return data, False
        out = bytearray()
        for byte in data:
            state["replies"] += 1
            if state["replies"] >= self.swallow:
                self.silenced.set()
                break
            out.append(byte)
        return bytes(out), False


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
