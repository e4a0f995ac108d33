"""What the kernel and the plugins know of the node that hosts them — small `Protocol`s, so that
the kernel never names the server (`pipecore.server.Node`), the RPC transport or the SQL ring.

* `RpcServices` — the RPC server node plugins register handlers on (``register_rpc_services``).
* `ReceiverContext` — the per-node home of the pipe receivers (``pipecore.server.Receivers``):
  the store, the cluster id, the live configuration, the users' check, the list of connected
  senders, objects shared by the receivers of one node and their reload listeners.
* `ServingNode` — the few things of a node the node hooks may read.
* `NodeShared` — objects a node's plugins share (one per node, never per process), e.g. the
  sinks' node-wide rate limiter; `RuntimeConfiguration.shared` and `ReceiverContext.shared`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .privileges import UserFile

if TYPE_CHECKING:
    from .config import Config
    from .observability import ReceiverTotals

__all__ = [
    "LEGACY_SYNC_TRANSPORT",
    "ConnectionLog",
    "LoginStatus",
    "NodeShared",
    "ReceiverContext",
    "RpcServices",
    "ServingNode",
    "UserCheck",
]

#: the `transport` a receiver plugin gives the connections of the sync tool (IoTDB 1.0/1.1):
#: the only senders SHOW PIPES lists on a receiving node (seed 001; IoTDB 1.3/2.0 lists none)
LEGACY_SYNC_TRANSPORT = "thrift-legacy"

T = TypeVar("T")


class NodeShared:
    """Objects shared by the plugins of one node, built once on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, Any] = {}

    def get(self, key: str, build: Callable[[], T]) -> T:
        """The object under `key`, built by `build()` the first time (under the lock: `build`
        must not call `get` again)."""
        with self._lock:
            if key not in self._objects:
                self._objects[key] = build()
            found: T = self._objects[key]
            return found


class LoginStatus(Protocol):
    """A login's answer: IoTDB's status code (200 when it succeeded) and message."""

    @property
    def code(self) -> int: ...

    @property
    def message(self) -> str | None: ...

    @property
    def is_success(self) -> bool: ...


class UserCheck(UserFile, Protocol):
    """Who may log in (the node's users) and what they may do (`pipecore.privileges`)."""

    def check(self, username: str, password: str, *, address: str | None = None) -> LoginStatus: ...

    def uses_default_password(self) -> bool: ...


class ConnectionLog(Protocol):
    """The senders connected to a node's receivers (SHOW PIPES on the receiver)."""

    #: what every connection did since the node opened (the node's metrics)
    totals: ReceiverTotals

    def open(self, transport: str, remote: str, cluster_id: str | None = None) -> Any: ...

    def update(
        self,
        conn: Any,
        *,
        databases: set[str] | frozenset[str] = ...,
        points: int = 0,
        files: int = 0,
        error: str | None = None,
    ) -> None: ...

    def close(self, conn: Any) -> None: ...


class ReceiverContext(ConnectionLog, Protocol):
    """The per-node home of the pipe receivers, owned by the serving node.

    Receiver plugins get it in ``register_rpc_services`` and ``node_services``; what they share
    between their transports (settings, a load queue) they keep in `shared`, never in module
    globals; services they need started with the node they give to `add_service`; a setting
    that may change on ``LOAD CONFIGURATION`` they follow with `on_reload`.
    """

    @property
    def store(self) -> Any: ...

    @property
    def cluster_id(self) -> str: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def config(self) -> Config:
        """The node's configuration now (after a reload, the new one)."""
        ...

    @property
    def address(self) -> tuple[str, int] | None:
        """The RPC server's bound (host, port), None before it listens."""
        ...

    @property
    def users(self) -> UserCheck: ...

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """One object per node and `key`, built by `build()` on first use."""
        ...

    def add_service(self, service: Any) -> None:
        """Start `service` (``start()``, ``stop()``, ``name``) with the node's services; stop
        it when the node stops serving."""
        ...

    def on_reload(self, listener: Callable[[Config], None]) -> None:
        """Call `listener(config)` after ``LOAD CONFIGURATION`` applied keys."""
        ...


class RpcServices(Protocol):
    """The node's RPC server, as node plugins see it in ``register_rpc_services``."""

    @property
    def pipe_receiver_factory(self) -> Callable[[Any], Any] | None: ...

    @property
    def session_handler_factory(self) -> Callable[[Any], Any] | None: ...

    def register_pipe_receiver(
        self, factory: Callable[[Any], Any], *, replace: bool = False
    ) -> None: ...

    def register_session_handler(
        self, factory: Callable[[Any], Any], *, replace: bool = False
    ) -> None: ...

    @property
    def legacy_sync_factory(self) -> Callable[[Any], Any] | None: ...

    def register_legacy_sync_handler(
        self, factory: Callable[[Any], Any], *, replace: bool = False
    ) -> None:
        """The sync tool's calls (IoTDB 1.0/1.1: handshake, sendPipeData, sendFile)."""
        ...


class ServingNode(Protocol):
    """What the node hooks may read of the serving node."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def config(self) -> Config: ...

    @property
    def cluster_id(self) -> str: ...

    @property
    def store(self) -> Any: ...

    @property
    def address(self) -> tuple[str, int] | None: ...
