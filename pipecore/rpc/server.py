"""The node's RPC server: IoTDB's `IClientRPCService`, framed transport, binary protocol.

One thread per connection (bounded by `max_connections`), per-connection state: the server
makes one pipe receiver and one session handler per connection (lazily, through the factories
registered with it) and closes them when the connection ends, as IoTDB's DataNode keeps its
pipe receiver in a thread-local and deletes it in ``handleClientExit``.

The server does not know the pipe protocol: ``pipeTransfer(req)`` is handed as
``(version, type, body)`` to the `PipeReceiver` that a plugin registers
(`register_pipe_receiver`); session calls go to the `SessionHandler` registered with
`register_session_handler`.

A connection that sends an unacceptable frame (over ``max_frame_size``, HTTP, negative) or
bytes that are not a Thrift call is closed with a logged reason; other connections are not
affected. With an `ssl.SSLContext` every accepted connection must speak TLS.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from pipecore_storage.status import PipeTransferResponse, Status, TSStatusCode

from .errors import RpcConnectionError, RpcError, RpcProtocolError
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameReader, write_frame
from .listener import Listener, peer_address
from .session import SessionHandler
from .thrift import (
    TApplicationException,
    TPipeTransferResp,
    TSStatus,
    dispatch_message,
    error_result,
    status_to_thrift,
    unsupported_result,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_RPC_PORT",
    "LEGACY_SYNC_METHODS",
    "ConnectionContext",
    "PipeReceiver",
    "PipeReceiverFactory",
    "RpcServer",
    "SessionHandlerFactory",
]

log = logging.getLogger("pipecore.rpc.server")

DEFAULT_RPC_PORT = 6667  # dn_rpc_port
DEFAULT_MAX_CONNECTIONS = 1000  # rpc_max_concurrent_client_num
#: the calls of IoTDB 1.0/1.1's sync tool (client.thrift), served by `register_legacy_sync_handler`
LEGACY_SYNC_METHODS = frozenset({"handshake", "sendPipeData", "sendFile"})


@attrs.frozen
class ConnectionContext:
    """What a per-connection handler knows about its connection.

    `transport` is ``"thrift"`` for this server; the air-gap receiver uses ``"air-gap"``.
    `peer_certificate` is the client's certificate (``SSLSocket.getpeercert()``) under mutual
    TLS, else None.
    """

    connection_id: int
    remote_address: tuple[str, int]
    local_address: tuple[str, int]
    tls: bool = False
    peer_certificate: Mapping[str, Any] | None = None
    transport: str = "thrift"
    opened_at: float = attrs.field(factory=time.time)

    @property
    def remote(self) -> str:
        """``host:port`` of the client."""
        return f"{self.remote_address[0]}:{self.remote_address[1]}"


class PipeReceiver(Protocol):
    """The per-connection receiver of ``pipeTransfer`` requests (implemented by a plugin)."""

    def transfer(self, version: int, type: int, body: bytes) -> PipeTransferResponse:
        """Handle one request; never raises on purpose (an exception becomes PIPE_ERROR)."""
        ...

    def close(self) -> None:
        """The connection ended: release what the connection held (files, directories)."""
        ...


PipeReceiverFactory = Callable[[ConnectionContext], PipeReceiver]
SessionHandlerFactory = Callable[[ConnectionContext], SessionHandler]


class _Connection:
    """One client connection and its thread."""

    def __init__(self, server: RpcServer, sock: socket.socket, context: ConnectionContext):
        self.server = server
        self.sock = sock
        self.context = context
        self.receiver: PipeReceiver | None = None
        self.session: SessionHandler | None = None
        self.legacy_sync: Any = None  # the sync tool's handler (LEGACY_SYNC_METHODS)
        self.last_active = time.monotonic()
        self.busy = False  # while a request is handled
        self.thread = threading.Thread(
            target=self.run,
            name=f"pipecore-rpc-{context.connection_id}-{context.remote}",
            daemon=True,
        )

    # ------------------------------------------------------------ the connection's thread
    def run(self) -> None:
        peer = self.context.remote
        try:
            if self.server.ssl_context is not None and not self._tls_handshake():
                return
            reader = FrameReader(self.sock, self.server.max_frame_size, peer)
            first = self.server.first_frame_timeout
            if first is not None:  # a connection that says nothing is closed soon
                self.sock.settimeout(first)
            while True:
                frame = reader.read_frame()
                if frame is None:
                    log.debug("connection %s closed by the client", peer)
                    break
                if first is not None:
                    self.sock.settimeout(self.server.idle_timeout)
                    first = None
                self.busy = True
                try:
                    reply = dispatch_message(frame, self.lookup)
                    del frame
                    if reply is not None:
                        write_frame(self.sock, reply)
                finally:
                    self.busy = False
                    self.last_active = time.monotonic()
        except RpcProtocolError as exc:
            log.warning("closing connection from %s: %s", peer, exc)
        except TimeoutError:
            log.info("closing connection from %s: silent for too long", peer)
        except (OSError, RpcConnectionError) as exc:
            if not self.server.stopping:
                log.info("connection from %s ended: %s", peer, exc)
        finally:
            self.finish()

    def _tls_handshake(self) -> bool:
        ctx = self.server.ssl_context
        assert ctx is not None
        raw = self.sock
        raw.settimeout(self.server.tls_handshake_timeout)
        try:
            tls = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            self.sock = tls  # from now on abort() reaches this socket
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            if not self.server.stopping:
                log.warning(
                    "TLS handshake with %s failed (%s): You may be sending non-SSL requests "
                    "to the SSL-enabled Thrift-RPC port",
                    self.context.remote,
                    exc,
                )
            return False
        tls.settimeout(self.server.idle_timeout)
        self.sock = tls
        self.context = attrs.evolve(
            self.context, tls=True, peer_certificate=tls.getpeercert() or None
        )
        return True

    def finish(self) -> None:
        handlers = (
            ("pipe receiver", self.receiver),
            ("session", self.session),
            ("sync-tool receiver", self.legacy_sync),
        )
        for name, handler in handlers:
            if handler is None:
                continue
            try:
                handler.close()
            except Exception:
                log.exception("closing the %s of connection %s failed", name, self.context.remote)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.server._forget(self)

    def abort(self) -> None:
        """Unblock the thread (from another thread): shut the socket down."""
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)

    # ------------------------------------------------------------ dispatch
    def lookup(self, name: str) -> Callable[..., Any]:
        if name == "pipeTransfer":
            return self.pipe_transfer
        if name in LEGACY_SYNC_METHODS:
            return self.legacy_sync_method(name)
        if name == "testConnectionEmptyRPC":
            return lambda: TSStatus(code=int(TSStatusCode.SUCCESS_STATUS))
        return self.session_method(name)

    def pipe_transfer(self, req: Any) -> TPipeTransferResp:
        if req is None or req.version is None or req.type is None or req.body is None:
            raise TApplicationException(
                TApplicationException.PROTOCOL_ERROR,
                "pipeTransfer needs a TPipeTransferReq with version, type and body",
            )
        try:
            if self.receiver is None:
                factory = self.server.pipe_receiver_factory
                if factory is None:
                    status = Status(TSStatusCode.PIPE_ERROR, "this node has no pipe receiver")
                    return TPipeTransferResp(status=status_to_thrift(status))
                self.receiver = factory(self.context)
            resp = self.receiver.transfer(int(req.version), int(req.type), req.body)
        except Exception as exc:
            log.exception("pipe request from %s failed", self.context.remote)
            resp = PipeTransferResponse(
                Status(
                    TSStatusCode.PIPE_ERROR,
                    f"Exception {exc!r} encountered while handling request (type {req.type})",
                )
            )
        return TPipeTransferResp(status=status_to_thrift(resp.status), body=resp.body)

    def legacy_sync_method(self, name: str) -> Callable[..., Any]:
        """The sync tool's calls (IoTDB 1.0/1.1): the connection's `legacy_sync` handler
        (made on first use by the registered factory) answers them; a node without one
        answers UNSUPPORTED_OPERATION in a TSStatus."""
        if self.legacy_sync is None:
            factory = self.server.legacy_sync_factory
            if factory is None:
                return lambda *_: unsupported_result(name, "this node serves no sync-tool sender")
            self.legacy_sync = factory(self.context)
        method = getattr(self.legacy_sync, name)

        def call(*args: Any) -> Any:
            if any(a is None for a in args):
                raise TApplicationException(
                    TApplicationException.PROTOCOL_ERROR, f"{name}: the request is missing"
                )
            return method(*args)

        return call

    def session_method(self, name: str) -> Callable[..., Any]:
        if self.session is None:
            factory = self.server.session_handler_factory
            if factory is None:
                return lambda *_: unsupported_result(name, "this node serves no client sessions")
            self.session = factory(self.context)
        method = getattr(self.session, name, None)
        if method is None:
            return lambda *_: unsupported_result(name, f"{name} is not supported by pipecore")

        def call(*args: Any) -> Any:
            if any(a is None for a in args):  # a request without its argument struct
                log.warning("%s from %s without its arguments", name, self.context.remote)
                return error_result(
                    name, TSStatusCode.ILLEGAL_PARAMETER, f"{name}: the request is missing"
                )
            try:
                return method(*args)
            except TApplicationException:
                raise
            except Exception as exc:
                if getattr(self.session, "session_id", True) is None:
                    # not logged in: bad arguments get a status, the log one line
                    log.warning(
                        "%s from %s (not logged in) refused: %s: %s",
                        name,
                        self.context.remote,
                        type(exc).__name__,
                        str(exc)[:200],
                    )
                    return error_result(
                        name, TSStatusCode.ILLEGAL_PARAMETER, f"{name}: invalid request"
                    )
                log.exception("%s from %s failed", name, self.context.remote)
                return error_result(name, TSStatusCode.INTERNAL_SERVER_ERROR, f"{exc}")

        return call


class RpcServer:
    """A threaded Thrift server for `IClientRPCService` on ``host:port``.

    * `max_frame_size` — ``dn_thrift_max_frame_size`` (512 MiB): a larger frame closes the
      connection that sent it.
    * `max_connections` — connections served at once (``rpc_max_concurrent_client_num``);
      one more is accepted and closed at once, with a logged warning.
    * `ssl_context` — a server-side `ssl.SSLContext`: every connection must then speak TLS.
    * `idle_timeout` — seconds a connection may stay silent between frames (None: forever).
    * `first_frame_timeout` — seconds a new connection has to send its first whole request
      (``dn_connection_timeout_ms``; None: `idle_timeout`).
    * At the connection limit a new connection still gets in when an open one has been idle
      for `evict_idle_after` seconds: the longest idle one is closed to make room (idle
      connections cannot lock clients out).

    Use as a context manager, or call `start` and `stop`. Port 0 binds a free port;
    `address` tells which.
    """

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = DEFAULT_RPC_PORT,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
        idle_timeout: float | None = None,
        first_frame_timeout: float | None = 60.0,
        tls_handshake_timeout: float = 10.0,
        backlog: int = 128,
    ) -> None:
        if max_frame_size <= 0 or max_connections <= 0:
            raise ValueError("max_frame_size and max_connections must be positive")
        self.host = host
        self.port = port
        self.max_frame_size = max_frame_size
        self.max_connections = max_connections
        self.ssl_context = ssl_context
        self.idle_timeout = idle_timeout
        self.first_frame_timeout = first_frame_timeout
        self.tls_handshake_timeout = tls_handshake_timeout
        self.backlog = backlog
        self.pipe_receiver_factory: PipeReceiverFactory | None = None
        self.session_handler_factory: SessionHandlerFactory | None = None
        self.legacy_sync_factory: Callable[[ConnectionContext], Any] | None = None
        self._listener: Listener[_Connection] | None = None  # made by `start`
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ registration
    def register_pipe_receiver(self, factory: PipeReceiverFactory, replace: bool = False) -> None:
        """Serve ``pipeTransfer`` with ``factory(context)``, one receiver per connection."""
        if self.pipe_receiver_factory is not None and not replace:
            raise RpcError("a pipe receiver is already registered with this RPC server")
        self.pipe_receiver_factory = factory

    def register_session_handler(
        self, factory: SessionHandlerFactory, replace: bool = False
    ) -> None:
        """Serve session calls with ``factory(context)``, one handler per connection."""
        if self.session_handler_factory is not None and not replace:
            raise RpcError("a session handler is already registered with this RPC server")
        self.session_handler_factory = factory

    def register_legacy_sync_handler(
        self, factory: Callable[[ConnectionContext], Any], replace: bool = False
    ) -> None:
        """Serve the sync tool's calls (`LEGACY_SYNC_METHODS`: ``handshake``,
        ``sendPipeData``, ``sendFile``) with ``factory(context)``, one handler per connection:
        an object with those methods (IoTDB's arguments, a `TSStatus` back) and ``close()``."""
        if self.legacy_sync_factory is not None and not replace:
            raise RpcError("a sync-tool handler is already registered with this RPC server")
        self.legacy_sync_factory = factory

    # ------------------------------------------------------------ lifecycle
    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (the real port when 0 was asked for)."""
        if self._listener is None:
            return (self.host, self.port)
        return self._listener.address

    @property
    def running(self) -> bool:
        return self._listener is not None and self._listener.running

    @property
    def stopping(self) -> bool:
        return self._listener is not None and self._listener.stopping

    def start(self) -> RpcServer:
        if self._listener is not None and self._listener.started:
            raise RpcError("the RPC server is already started")
        listener = Listener(
            self.host,
            self.port,
            connect=self._connect,
            refused=self._refused,
            make_room=self._make_room,
            label="RPC server",
            port_key="dn_rpc_port",
            thread_name="pipecore-rpc-accept",
            log=log,
            max_connections=self.max_connections,
            idle_timeout=self.idle_timeout,
            backlog=self.backlog,
        )
        listener.start()
        self._listener = listener
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection (handlers are closed), join all threads."""
        if self._listener is None or not self._listener.started:
            return
        for conn in self._listener.stop(timeout):
            log.warning(
                "connection %s did not finish within %.1fs of stop", conn.context.remote, timeout
            )
        log.info("RPC server stopped")

    def __enter__(self) -> RpcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connections(self) -> list[ConnectionContext]:
        """The contexts of the connections open now."""
        if self._listener is None:
            return []
        return [c.context for c in self._listener.connections()]

    # ------------------------------------------------------------ connections
    def _connect(self, sock: socket.socket, address: tuple[str, int]) -> _Connection:
        context = ConnectionContext(
            connection_id=next(self._ids),
            remote_address=address,
            local_address=peer_address(sock.getsockname()),
        )
        return _Connection(self, sock, context)

    def _refused(self, address: tuple[str, int], open_count: int) -> None:
        log.warning(
            "refusing connection from %s:%d: %d connections are open "
            "(rpc_max_concurrent_client_num)",
            *address,
            open_count,
        )

    evict_idle_after = 1.0

    def _make_room(self, connections: list[_Connection]) -> _Connection | None:
        """The connection idle the longest (at least `evict_idle_after` seconds), closed to
        make room for a new one; None when every connection is busy or recently active.
        Called by the listener, under its lock, at the limit."""
        now = time.monotonic()
        idle = [c for c in connections if not c.busy]
        if not idle:
            return None
        victim = min(idle, key=lambda c: c.last_active)
        if now - victim.last_active < self.evict_idle_after:
            return None
        log.warning(
            "closing connection from %s, idle for %.0f s, to make room "
            "(rpc_max_concurrent_client_num=%d)",
            victim.context.remote,
            now - victim.last_active,
            self.max_connections,
        )
        return victim

    def _forget(self, conn: _Connection) -> None:
        if self._listener is not None:
            self._listener.forget(conn)
