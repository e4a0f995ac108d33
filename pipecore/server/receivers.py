"""The home of a serving node's pipe receivers: `Receivers`, one per node, owned by the node.

Receiver plugins (thrift, air gap) get it in the ``register_rpc_services`` and
``node_services`` hooks (as `pipecore.host.ReceiverContext`): what their transports share
(settings, a load queue) is kept per node in `Receivers.shared`, services they need are given
to `Receivers.add_service`, and settings that ``LOAD CONFIGURATION`` may change reach them
through `Receivers.on_reload`. No module globals keyed by node, no reliance on hook order.

A receiver plugin (thrift, air gap) records each connection here when the sender's handshake
succeeds, updates it as data lands, and removes it when the connection ends. SHOW PIPE RECEIVERS
(pipecore's own) lists them all; SHOW PIPES lists only the sync tool's (transport
`LEGACY_SYNC_TRANSPORT`: role receiver, the sender's address, the databases touched), as that
tool's guide describes (seed 001) — IoTDB 1.3/2.0 lists no senders in SHOW PIPES.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..host import NodeShared
from ..observability import ReceiverTotals

if TYPE_CHECKING:
    from ..config import Config
    from .users import UserStore

__all__ = ["ReceiverConnection", "ReceiverRegistry", "Receivers"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@attrs.define
class ReceiverConnection:
    """One sender connected to one of this node's receivers.

    * `id` — unique within the node's lifetime; `transport` — ``"thrift"`` or ``"air-gap"``.
    * `remote` — the sender's ``host:port``; `cluster_id` — from its handshake (None for v1).
    * `connected_at` — epoch ms; `databases` — databases the sender's data landed in.
    * `points`, `files` — what has been received and applied so far.
    * `last_error` — the last refused request's status and message (None when all is well).
    * `pipe_name` — the sender's pipe, when its protocol names it (the sync tool's handshake).
    """

    id: int
    transport: str
    remote: str
    cluster_id: str | None = None
    connected_at: int = attrs.field(factory=lambda: int(time.time() * 1000))
    databases: set[str] = attrs.field(factory=set)
    points: int = 0
    files: int = 0
    last_error: str | None = None
    pipe_name: str | None = None


class ReceiverRegistry:
    """Thread-safe list of the connections receivers are serving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._connections: dict[int, ReceiverConnection] = {}
        #: what every connection did since the node opened (the node's metrics)
        self.totals = ReceiverTotals()

    def open(
        self, transport: str, remote: str, cluster_id: str | None = None
    ) -> ReceiverConnection:
        with self._lock:
            conn = ReceiverConnection(next(self._ids), transport, remote, cluster_id)
            self._connections[conn.id] = conn
            return conn

    def update(
        self,
        conn: ReceiverConnection,
        *,
        databases: set[str] | frozenset[str] = frozenset(),
        points: int = 0,
        files: int = 0,
        error: str | None = None,
    ) -> None:
        with self._lock:
            conn.databases.update(databases)
            conn.points += points
            conn.files += files
            if error is not None:
                conn.last_error = error
        if points or files:
            self.totals.applied(conn.transport, points, files)

    def close(self, conn: ReceiverConnection) -> None:
        with self._lock:
            self._connections.pop(conn.id, None)

    def list(self) -> list[ReceiverConnection]:
        """A snapshot, oldest connection first (copies: safe to read without the lock)."""
        with self._lock:
            return [
                attrs.evolve(c, databases=set(c.databases))
                for c in sorted(self._connections.values(), key=lambda c: c.id)
            ]


class Receivers(ReceiverRegistry):
    """A node's receivers: the senders connected to them (the `ReceiverRegistry` it is) and
    what the receiver plugins of this node share (`pipecore.host.ReceiverContext`).

    `config` and `address` are read from the node each time (after ``LOAD CONFIGURATION`` the
    new configuration); `reloaded(config)` is the node's call after a reload.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        cluster_id: str,
        store: Any,
        users: UserStore,
        config: Callable[[], Config],
        address: Callable[[], tuple[str, int] | None] = lambda: None,
        templates: Any = None,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.templates = templates  # the node's SchemaTemplates (config plans apply to them)
        self.cluster_id = cluster_id
        self.store = store
        self.users = users
        self._config = config
        self._address = address
        self._shared = NodeShared()
        self._services: list[Any] = []
        self._listeners: list[Callable[[Config], None]] = []

    @property
    def config(self) -> Config:
        return self._config()

    @property
    def address(self) -> tuple[str, int] | None:
        return self._address()

    def shared(self, key: str, build: Callable[[], T]) -> T:
        return self._shared.get(key, build)

    def add_service(self, service: Any) -> None:
        with self._lock:
            self._services.append(service)

    def begin_serving(self) -> None:
        """A new `serve()`: forget what the receivers of an earlier one shared (their
        services were stopped with it)."""
        with self._lock:
            self._shared = NodeShared()
            self._services = []
            self._listeners = []

    def take_services(self) -> list[Any]:
        """The services added since the last call (the node starts them)."""
        with self._lock:
            services, self._services = self._services, []
            return services

    def on_reload(self, listener: Callable[[Config], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def reloaded(self, config: Config) -> None:
        """Tell every listener about the configuration ``LOAD CONFIGURATION`` applied."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(config)
            except Exception:
                log.exception("a receiver failed to apply the reloaded configuration")
