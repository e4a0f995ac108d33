"""The lifecycle of a TCP listener, shared by the node's RPC server (`pipecore.rpc.server`)
and the air-gap receiver (plugin ``pipecore_air_gap_sink``): bind, one accept thread, one
thread per connection, a connection limit, and a stop that closes everything and joins every
thread.

What a connection *does* is the owner's: `Listener` hands each accepted socket to the
owner's `connect(sock, address)`, which returns the connection object (anything with a
`thread` to start and an `abort()` that unblocks it from another thread); the connection
calls `Listener.forget(conn)` when it ends. A connection beyond `max_connections` is accepted
and closed at once, and `refused(address, open_count)` is told (the owner logs it with its
own configuration key).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .errors import RpcConnectionError

__all__ = ["Listener", "ListenerConnection"]


class ListenerConnection(Protocol):
    """What a `Listener` needs of a connection object."""

    @property
    def thread(self) -> threading.Thread: ...

    def abort(self) -> None:
        """Unblock the connection's thread (from another thread): shut its socket down."""
        ...


C = TypeVar("C", bound=ListenerConnection)


def peer_address(address: object) -> tuple[str, int]:
    """``(host, port)`` of a socket address."""
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return (str(address), 0)


class Listener(Generic[C]):
    """A listening socket on ``host:port`` with its accept thread and connections.

    * `connect(sock, address)` — make the connection object of an accepted socket (its
      thread is started by the listener); return None to drop the socket.
    * `refused(address, open_count)` — a connection beyond `max_connections` was closed.
    * `label` names the service in log lines and errors, `port_key` the configuration key of
      its port, `thread_name` the accept thread (``<thread_name>-<port>``).
    * `idle_timeout` — the accepted socket's timeout (seconds between reads; None: forever).
    * `make_room(connections)` — at the limit, a connection to close so that a new one gets
      in (e.g. the one idle the longest), or None; without it the new one is refused.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect: Callable[[socket.socket, tuple[str, int]], C | None],
        refused: Callable[[tuple[str, int], int], None],
        make_room: Callable[[list[C]], C | None] | None = None,
        label: str,
        port_key: str,
        thread_name: str,
        log: logging.Logger,
        max_connections: int,
        idle_timeout: float | None = None,
        backlog: int = 128,
    ) -> None:
        if max_connections <= 0:
            raise ValueError("max_connections must be positive")
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.backlog = backlog
        self.stopping = False
        self._connect = connect
        self._refused = refused
        self._make_room = make_room
        self._label, self._port_key, self._thread_name = label, port_key, thread_name
        self._log = log
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[C] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ state
    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (the real port when 0 was asked for)."""
        if self._listener is None:
            return (self.host, self.port)
        return peer_address(self._listener.getsockname())

    @property
    def started(self) -> bool:
        return self._listener is not None

    @property
    def running(self) -> bool:
        return self._accept_thread is not None and self._accept_thread.is_alive()

    def connections(self) -> list[C]:
        """The connections open now."""
        with self._lock:
            return list(self._connections)

    def forget(self, conn: C) -> None:
        """A connection ended (called by the connection)."""
        with self._lock:
            self._connections.discard(conn)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Bind and listen, then accept on a thread; `RpcConnectionError` (an `OSError`)
        naming the port's key when the port cannot be bound."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(self.backlog)
        except OSError as exc:
            listener.close()
            raise RpcConnectionError(
                f"cannot listen on {self.host}:{self.port} ({self._port_key}): "
                f"{exc.strerror or exc}"
            ) from exc
        listener.setblocking(False)
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self.stopping = False
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{self._thread_name}-{self.address[1]}", daemon=True
        )
        self._accept_thread.start()
        self._log.info("%s listening on %s:%d", self._label, *self.address)

    def stop(self, timeout: float = 10.0) -> list[C]:
        """Stop accepting, abort every connection and join the threads within `timeout`;
        returns the connections whose thread is still alive. Idempotent."""
        if self._listener is None:
            return []
        self.stopping = True
        deadline = time.monotonic() + timeout
        assert self._wake_w is not None
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        connections = self.connections()
        for conn in connections:
            conn.abort()
        for conn in connections:
            conn.thread.join(max(0.0, deadline - time.monotonic()))
        self._listener = None
        self._accept_thread = None
        return [c for c in connections if c.thread.is_alive()]

    # ------------------------------------------------------------ accepting
    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake_r is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self.stopping:
                for key, _ in sel.select():
                    if key.fileobj is self._listener and not self.stopping:
                        self._accept_one()

    def _accept_one(self) -> None:
        assert self._listener is not None
        try:
            sock, address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._log.warning("%s: accept failed: %s", self._label, exc)
            return
        sock.setblocking(True)
        sock.settimeout(self.idle_timeout)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        remote = peer_address(address)
        with self._lock:
            if self._make_room is not None and len(self._connections) >= self.max_connections:
                victim = self._make_room(list(self._connections))
                if victim is not None:
                    victim.abort()
                    self._connections.discard(victim)
            if self.stopping or len(self._connections) >= self.max_connections:
                open_count = len(self._connections)
                sock.close()
                self._refused(remote, open_count)
                return
            conn = self._connect(sock, remote)
            if conn is None:
                sock.close()
                return
            self._connections.add(conn)
        conn.thread.start()
