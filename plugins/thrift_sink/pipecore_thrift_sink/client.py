"""The sink's side of a connection: one `SinkClient` per receiver endpoint, and `ClientSet`
(load balancing and fail-over over several endpoints).

A `SinkClient` connects, handshakes (v2 — type 51 — falling back to v1 — type 1 — when the
receiver answers 1801, reference §3.3/§7.2) and sends requests: compressed (type 300) when
``sink.compressor`` is set, in slices (type 400) when a body reaches
``pipe_connector_request_slice_threshold_bytes``, paced by the rate limiters. Any transport
failure closes the connection, marks the client dead and raises `PipeConnectionError`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from pipecore import PipeConnectionError
from pipecore.rpc import (
    Endpoint,
    PipeTransferClient,
    PipeTransferResponse,
    RpcError,
    TSStatusCode,
)
from pipecore.rpc.errors import RpcProtocolError
from pipecore.rpc.thrift import encode_pipe_transfer_call, status_from_thrift

from .errors import ReceiverRefusedError
from .protocol import (
    LINEAGE_REQUEST_TYPE,
    BodyReader,
    BodyWriter,
    HandshakeParams,
    PipeCompressor,
    PipeProtocolError,
    PipeRequestType,
    PipeRequestVersion,
    PipeTransferRequest,
    compress_request,
    encode_handshake_v1,
    encode_lineage,
    probe_body,
    split_into_slices,
    to_iotdb2_request,
)
from .ratelimit import RateLimiter

__all__ = [
    "PIPECORE_MARKER_KEY",
    "ClientSet",
    "ClientSettings",
    "HandshakeInfo",
    "SinkClient",
    "Transport",
    "decode_receiver_marker",
    "encode_receiver_marker",
    "thrift_transport_factory",
]

log = logging.getLogger("pipecore.thrift_sink")

#: Key of the map a pipecore receiver puts in the body of its v2 handshake answer (IoTDB never
#: sends a body there): the TsFile format versions it loads.
PIPECORE_MARKER_KEY = "pipecore.tsfile-format-versions"
PIPECORE_MARKER_VERSIONS = "3,4"
_V1_TABLETS = (PipeRequestType.TRANSFER_TABLET_RAW, PipeRequestType.TRANSFER_TABLET_BATCH)
_RETRY_DEAD_AFTER = (1.0, 60.0)  # a dead endpoint is tried again after 1 s, doubling to 60 s


def encode_receiver_marker() -> bytes:
    w = BodyWriter()
    w.string_map({PIPECORE_MARKER_KEY: PIPECORE_MARKER_VERSIONS})
    return w.getvalue()


def decode_receiver_marker(body: bytes | None) -> frozenset[int]:
    """TsFile versions the receiver says it loads; {3} when it says nothing (a real IoTDB 1.x
    — which loads format 3 only)."""
    if not body:
        return frozenset({3})
    try:
        params = BodyReader(body).string_map("handshake.reply")
        text = params.get(PIPECORE_MARKER_KEY) or ""
        versions = frozenset(int(v) for v in text.split(",") if v.strip())
    except (PipeProtocolError, ValueError):
        return frozenset({3})
    return versions or frozenset({3})


class Transport(Protocol):
    """What a `SinkClient` sends through (`PipeTransferClient`; the SSL and air-gap sinks give
    their own)."""

    def transfer_response(self, version: int, type: int, body: bytes) -> PipeTransferResponse: ...

    def set_timeout(self, timeout: float | None) -> None: ...

    def close(self) -> None: ...


class _PartsClient(PipeTransferClient):
    """`PipeTransferClient` that can send a body given as several buffers (a file piece: its
    small header and the data read from disk) without joining them, and that can be aborted
    from another thread while a call waits."""

    def abort(self) -> None:
        """Shut the socket down without waiting for a call in progress (it then fails)."""
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def transfer_parts(self, version: int, type: int, parts: Sequence[Any]) -> PipeTransferResponse:
        size = sum(len(p) for p in parts)
        head, _, tail = encode_pipe_transfer_call(version, type, b"")
        head = head[:-4] + size.to_bytes(4, "big", signed=True)
        resp = self._roundtrip("pipeTransfer", [head, *parts, tail])
        if resp.status is None:
            raise RpcProtocolError("a pipeTransfer reply without a status", self.peer)
        return PipeTransferResponse(status_from_thrift(resp.status), resp.body)


def thrift_transport_factory(
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    send_ports: Sequence[int] = (),
) -> Callable[[Endpoint, float, float], Transport]:
    """Transports over IoTDB's Thrift RPC (framed, binary), optionally TLS (the SSL sink),
    from one of `send_ports` (``send-port.*``) when given."""

    def make(endpoint: Endpoint, timeout: float, connect_timeout: float) -> Transport:
        return _PartsClient(
            endpoint.ip,
            endpoint.port,
            timeout=timeout,
            connect_timeout=connect_timeout,
            ssl_context=ssl_context,
            server_hostname=server_hostname,
            send_ports=send_ports,
        )

    return make


thrift_transport = thrift_transport_factory()


@attrs.frozen
class HandshakeInfo:
    """What the handshake established: `version` 2 (type 51 accepted) or 1; `tsfile_versions`
    the receiver loads (from pipecore's marker; {3} for an IoTDB 1.x); `tablet_v2` whether the
    receiver is an IoTDB 2.x (it took an empty type-11 probe after the handshake): it then
    reads tsfile 2.x tablets only, and TsFiles of format 4."""

    version: int
    tsfile_versions: frozenset[int]
    tablet_v2: bool = False

    @property
    def is_pipecore(self) -> bool:
        return 4 in self.tsfile_versions and not self.tablet_v2

    @property
    def auto_tsfile_version(self) -> int | None:
        """``sink.tsfile.format-version=auto``: None (as the file is) for pipecore, 4 for
        IoTDB 2.x, 3 for IoTDB 1.x."""
        if self.tablet_v2:
            return 4
        return None if self.is_pipecore else 3


@attrs.frozen
class ClientSettings:
    """Everything a `SinkClient` needs besides its endpoint."""

    handshake: HandshakeParams
    timeout: float  # seconds to wait for a reply (pipe_sink_timeout_ms)
    handshake_timeout: float  # connect + handshake (pipe_sink_handshake_timeout_ms)
    compressors: tuple[PipeCompressor, ...] = ()
    zstd_level: int = 3
    slice_threshold: int = int(0.8 * 512 * 1024 * 1024)
    rate_limit: float = -1.0  # bytes/s per endpoint
    global_limiter: RateLimiter | None = None
    transport_factory: Callable[[Endpoint, float, float], Transport] = thrift_transport
    _limiters: dict[Endpoint, RateLimiter] = attrs.field(factory=dict, eq=False, repr=False)

    def limiter(self, endpoint: Endpoint) -> RateLimiter:
        """The rate limiter of `endpoint`, shared by every connection of the sink to it."""
        with _LIMITER_LOCK:
            return self._limiters.setdefault(endpoint, RateLimiter(self.rate_limit))


_LIMITER_LOCK = threading.Lock()


class SinkClient:
    """One connection to one receiver. Not thread-safe: one user at a time."""

    _order_ids = iter(range(1, 1 << 62))
    _order_lock = threading.Lock()

    def __init__(self, endpoint: Endpoint, settings: ClientSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.limiter = settings.limiter(endpoint)
        self.transport: Transport | None = None
        self.info: HandshakeInfo | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.next_attempt = 0.0
        self.closed = False

    def __repr__(self) -> str:
        return f"<SinkClient {self.endpoint} {'alive' if self.alive else 'dead'}>"

    @property
    def alive(self) -> bool:
        return self.transport is not None and self.info is not None

    # ------------------------------------------------------------------ connecting
    def connect(self) -> HandshakeInfo:
        """(Re)connect and handshake. Raises `PipeConnectionError` when the receiver cannot be
        reached, `ReceiverRefusedError` when it refuses."""
        self.drop()
        s = self.settings
        try:
            self.transport = s.transport_factory(
                self.endpoint, s.handshake_timeout, s.handshake_timeout
            )
            params = s.handshake
            resp = self._raw(PipeRequestType.HANDSHAKE_DATANODE_V2, params.encode())
            version = 2
            if resp.status.code == TSStatusCode.PIPE_TYPE_ERROR:
                precision = params.timestamp_precision or "ms"
                resp = self._raw(
                    PipeRequestType.HANDSHAKE_DATANODE_V1, encode_handshake_v1(precision)
                )
                version = 1
        except PipeConnectionError as exc:
            self._failed(str(exc))
            raise
        if not resp.status.is_success:
            self._failed(str(resp.status))
            raise ReceiverRefusedError(str(self.endpoint), resp.status)
        versions = decode_receiver_marker(resp.body) if version == 2 else frozenset({3})
        tablet_v2 = version == 2 and 4 not in versions and self._probe_v2()
        assert self.transport is not None
        self.transport.set_timeout(s.timeout)
        self.info = HandshakeInfo(version, versions | {4} if tablet_v2 else versions, tablet_v2)
        self.failures = 0
        self.last_error = None
        return self.info

    def _probe_v2(self) -> bool:
        """Whether the (non-pipecore) receiver takes IoTDB 2.x's type 11: an empty tablet."""
        resp = self._raw(PipeRequestType.TRANSFER_TABLET_RAW_V2, probe_body())
        log.debug("receiver %s: IoTDB 2.x probe answered %s", self.endpoint, resp.status)
        return resp.status.is_success

    def _failed(self, reason: str) -> None:
        self.drop()
        self.last_error = reason
        self.failures += 1
        lo, hi = _RETRY_DEAD_AFTER
        self.next_attempt = time.monotonic() + min(hi, lo * 2 ** min(self.failures - 1, 16))

    def drop(self) -> None:
        """Close the connection (the client is dead until `connect`)."""
        transport, self.transport, self.info = self.transport, None, None
        if transport is not None:
            try:
                transport.close()
            except Exception:  # closing a broken socket may fail; it is gone either way
                log.debug("closing the connection to %s failed", self.endpoint, exc_info=True)

    def close(self) -> None:
        """Close for good; a request waiting on another thread fails at once."""
        self.closed = True
        self.limiter.wake()
        transport = self.transport
        abort = getattr(transport, "abort", None)
        if abort is not None:
            abort()
        self.drop()

    # ------------------------------------------------------------------ requests
    def _raw(self, type_: int, body: Any) -> PipeTransferResponse:
        transport = self.transport
        if transport is None:
            raise PipeConnectionError(f"receiver {self.endpoint}: not connected")
        try:
            if isinstance(body, list):
                send_parts = getattr(transport, "transfer_parts", None)
                if send_parts is not None:
                    return send_parts(PipeRequestVersion.VERSION_1, type_, body)
                body = b"".join(bytes(p) for p in body)
            return transport.transfer_response(PipeRequestVersion.VERSION_1, type_, body)
        except RpcError as exc:
            self._failed(str(exc))
            raise PipeConnectionError(f"receiver {self.endpoint}: {exc}") from exc
        except OSError as exc:
            self._failed(str(exc))
            raise PipeConnectionError(f"receiver {self.endpoint}: {exc}") from exc

    def send(
        self, type_: int, body: bytes | list[Any], lineage: tuple[str, ...] = ()
    ) -> PipeTransferResponse:
        """Send one request (compressed / sliced / paced as configured); the receiver's answer.

        `body` may be a list of buffers (sent without joining when nothing transforms it).
        `lineage`: the clusters the request's data came through; a pipecore receiver is told
        (protocol/lineage.py), an IoTDB one is not.
        Raises `PipeConnectionError` on any transport failure (the client is then dead).
        """
        if not self.alive:
            raise PipeConnectionError(f"receiver {self.endpoint} is not connected")
        s = self.settings
        if self.info is not None and self.info.tablet_v2 and type_ in _V1_TABLETS:
            joined = body if isinstance(body, bytes) else b"".join(bytes(p) for p in body)
            type_, body = to_iotdb2_request(type_, joined)
        if lineage and self.info is not None and self.info.is_pipecore:
            joined = body if isinstance(body, bytes) else b"".join(bytes(p) for p in body)
            type_, body = LINEAGE_REQUEST_TYPE, encode_lineage(lineage, type_, joined)
        if s.compressors:
            joined = body if isinstance(body, bytes) else b"".join(bytes(p) for p in body)
            request = compress_request(
                PipeTransferRequest(PipeRequestVersion.VERSION_1, type_, joined),
                s.compressors,
                s.zstd_level,
            )
            type_, body = request.type, request.body
        size = len(body) if isinstance(body, bytes) else sum(len(p) for p in body)
        self._pace(size)
        if size >= s.slice_threshold:
            joined = body if isinstance(body, bytes) else b"".join(bytes(p) for p in body)
            resp = self._send_sliced(
                PipeTransferRequest(PipeRequestVersion.VERSION_1, type_, joined)
            )
        else:
            resp = self._raw(type_, body)
        if resp.status.code == TSStatusCode.PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED:
            self._failed(str(resp.status))  # the next use connects and handshakes again
        return resp

    def _pace(self, size: int) -> None:
        self.limiter.acquire(size)
        limiter = self.settings.global_limiter
        if limiter is not None:
            limiter.acquire(size)

    def _send_sliced(self, request: PipeTransferRequest) -> PipeTransferResponse:
        with SinkClient._order_lock:
            order_id = next(SinkClient._order_ids)
        slices = split_into_slices(request, self.settings.slice_threshold, order_id)
        resp: PipeTransferResponse | None = None
        for piece in slices:
            resp = self._raw(piece.type, piece.body)
            if resp.status.code == TSStatusCode.PIPE_TYPE_ERROR and piece is slices[0]:
                return self._raw(request.type, request.body)  # no slices there: send it whole
            if not resp.status.is_success:
                return resp
        assert resp is not None
        return resp


class ClientSet:
    """The clients of all endpoints of a sink, chosen by ``load-balance-strategy``."""

    def __init__(self, endpoints: Sequence[Endpoint], strategy: str, settings: ClientSettings):
        self.clients = [SinkClient(e, settings) for e in endpoints]
        self.strategy = strategy
        self._next = 0
        self._lock = threading.Lock()
        self._connecting = threading.Lock()  # one thread (re)connects at a time

    def alive(self) -> list[SinkClient]:
        return [c for c in self.clients if c.alive]

    def connect(self, *, force: bool = False) -> None:
        """Connect every dead client whose retry time has come (all of them when none is
        alive, or with `force`). Raises when afterwards none is alive: `ReceiverRefusedError`
        if a receiver refused, else `PipeConnectionError` ("All target servers … are not
        available")."""
        with self._connecting:
            self._connect(force)

    def _connect(self, force: bool) -> None:
        none_alive = not self.alive()
        refused: ReceiverRefusedError | None = None
        now = time.monotonic()
        for client in self.clients:
            if client.alive or client.closed:
                continue
            if not (force or none_alive) and now < client.next_attempt:
                continue
            try:
                info = client.connect()
                log.info("connected to receiver %s (handshake v%d)", client.endpoint, info.version)
            except ReceiverRefusedError as exc:
                log.warning("%s", exc)
                refused = refused or exc
            except PipeConnectionError as exc:
                log.warning("cannot connect to receiver %s: %s", client.endpoint, exc)
        if not self.alive():
            if refused is not None:
                raise refused
            raise self.unavailable()

    def unavailable(self) -> PipeConnectionError:
        detail = "; ".join(f"{c.endpoint}: {c.last_error or 'not connected'}" for c in self.clients)
        targets = ", ".join(str(c.endpoint) for c in self.clients)
        return PipeConnectionError(f"All target servers [{targets}] are not available ({detail})")

    def pick(self) -> SinkClient:
        """A live client by the strategy; `PipeConnectionError` when none is alive."""
        with self._lock:
            clients = self.clients
            n = len(clients)
            if self.strategy == "priority":
                order = range(n)
            elif self.strategy == "random":
                start = random.randrange(n)
                order = range(start, start + n)
            else:
                start = self._next
                order = range(start, start + n)
            for i in order:
                client = clients[i % n]
                if client.alive:
                    if self.strategy == "round-robin":
                        self._next = (i + 1) % n
                    return client
        raise self.unavailable()

    def close(self) -> None:
        for client in self.clients:
            client.close()
