"""What a node knows about the senders connected to its pipe receivers.

A receiver plugin (thrift, air gap) records each connection here when the sender's handshake
succeeds, updates it as data lands, and removes it when the connection ends. SHOW PIPES on the
receiving node lists these connections (role receiver, the sender's address, the databases
touched), as the sync tool's guide describes (seed 001).
"""

from __future__ import annotations

import itertools
import threading
import time

import attrs

from .observability import ReceiverTotals

__all__ = ["ReceiverConnection", "ReceiverRegistry"]


@attrs.define
class ReceiverConnection:
    """One sender connected to one of this node's receivers.

    * `id` — unique within the node's lifetime; `transport` — ``"thrift"`` or ``"air-gap"``.
    * `remote` — the sender's ``host:port``; `cluster_id` — from its handshake (None for v1).
    * `connected_at` — epoch ms; `databases` — databases the sender's data landed in.
    * `points`, `files` — what has been received and applied so far.
    * `last_error` — the last refused request's status and message (None when all is well).
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
