"""The air-gap receiver (reference §5.1–§5.4): a TCP server on ``pipe_air_gap_receiver_port``
(9780) that reads framed requests and answers each with exactly one byte.

Each connection gets its own `IoTDBDataNodeReceiver` (transport ``"air-gap"``, with the
truncate-on-reupload rule of §4.3), sharing the node's receiver settings with the thrift
receiver: the same ``ip_white_list``, users, piece folder, idempotent writes and origin
marking. Per frame:

* L1 ≠ L2, a length over ``pipe_air_gap_receiver_max_payload_size_in_bytes``, a CRC32 that
  does not match, or a second e-language prefix: FAIL (0xff), and the connection is closed
  (the stream is out of step: nothing after it can be trusted);
* a connection that ends inside a frame: closed, nothing of the frame applied;
* otherwise the request is handled and answered OK (0x00) for 200, 400 and 1809, FAIL for
  any other status — including 1808, after the local retries of
  ``pipe_air_gap_retry_max_ms`` (IoTDB's receiver sent nothing there; reference §5.4).

A connection idle longer than ``pipe_sink_timeout_ms`` is closed, as IoTDB's ``SO_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

import attrs

from pipecore import config_section
from pipecore.rpc import Listener, TSStatusCode
from pipecore_thrift_sink import IoTDBDataNodeReceiver, ReceiverSettings
from pipecore_thrift_sink.protocol import (
    AIR_GAP_FAIL,
    DEFAULT_AIR_GAP_MAX_PAYLOAD,
    AirGapFrameError,
    PipeProtocolError,
    PipeTransferRequest,
    air_gap_reply,
    read_air_gap_frame,
)

__all__ = ["AirGapReceiver", "AirGapSection", "air_gap_settings"]

log = logging.getLogger("pipecore.air_gap_receiver")

DEFAULT_MAX_CONNECTIONS = 1000


def _positive(inst: object, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _doc(text: str) -> dict[str, Any]:
    return {"doc": text, "aliases": ()}


@config_section("air_gap")
@attrs.frozen
class AirGapSection:
    """Node keys of the air-gap receiver (``pipe_air_gap_receiver_enabled`` and
    ``pipe_air_gap_receiver_port`` are the core's)."""

    pipe_air_gap_receiver_max_payload_size_in_bytes: int = attrs.field(
        default=DEFAULT_AIR_GAP_MAX_PAYLOAD,
        validator=_positive,
        metadata=_doc("largest frame payload the air-gap receiver reads"),
    )
    pipe_air_gap_retry_local_interval_ms: int = attrs.field(
        default=1000, validator=_positive, metadata=_doc("pause between local retries of 1808")
    )
    pipe_air_gap_retry_max_ms: int = attrs.field(
        default=-1, metadata=_doc("retry a 1808 locally this long before FAIL; < 0: no retry")
    )


def air_gap_settings(node_config: Any) -> AirGapSection:
    """The node's section, or the defaults."""
    if node_config is not None:
        section = getattr(node_config, "sections", {}).get("air_gap")
        if isinstance(section, AirGapSection):
            return section
    return AirGapSection()


class _FrameCut(Exception):
    """The connection ended: `inside` a frame, or cleanly between two."""

    def __init__(self, inside: bool) -> None:
        self.inside = inside


class _Connection:
    def __init__(self, server: AirGapReceiver, sock: socket.socket, address: tuple[str, int]):
        self.server = server
        self.sock = sock
        self.address = address
        self.remote = f"{address[0]}:{address[1]}"
        self.started = False  # bytes of the current frame have been read
        self.thread = threading.Thread(
            target=self.run, name=f"pipecore-air-gap-{self.remote}", daemon=True
        )

    def read_exact(self, n: int) -> Any:
        """Exactly `n` bytes, as a memoryview of a fresh buffer (the frame's payload is then
        sliced, not copied, until the request's body is taken out of it)."""
        view = memoryview(bytearray(n))
        got = 0
        while got < n:
            count = self.sock.recv_into(view[got:])
            if count == 0:
                raise _FrameCut(inside=self.started or got > 0)
            got += count
            self.started = True
        return view

    def run(self) -> None:
        server = self.server
        receiver = IoTDBDataNodeReceiver(
            server.settings, self.address, transport="air-gap", air_gap=True
        )
        try:
            while not server.stopping:
                self.started = False
                try:
                    payload, _ = read_air_gap_frame(self.read_exact, server.max_payload)
                except AirGapFrameError as exc:
                    server.count("frames_refused")
                    log.warning(
                        "air-gap receiver: bad frame from %s, closing: %s", self.remote, exc
                    )
                    self.sock.sendall(AIR_GAP_FAIL)
                    return
                self.sock.sendall(server.answer(receiver, payload, self.remote))
        except _FrameCut as cut:
            if cut.inside:
                server.count("frames_cut")
                log.info("air-gap receiver: %s closed the connection inside a frame", self.remote)
        except TimeoutError:
            log.info("air-gap receiver: %s idle too long, closing", self.remote)
        except OSError as exc:
            if not server.stopping:
                log.info("air-gap receiver: connection from %s ended: %s", self.remote, exc)
        finally:
            try:
                receiver.close()
            finally:
                with contextlib.suppress(OSError):
                    self.sock.close()
                server.forget(self)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class AirGapReceiver:
    """The air-gap receiver service of a node (`start`, `stop`, `name`, `address`)."""

    name = "air-gap receiver"

    def __init__(
        self,
        settings: ReceiverSettings,
        host: str,
        port: int,
        *,
        section: AirGapSection | None = None,
        idle_timeout: float | None = 900.0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.settings = settings
        self.host, self.port = host, port
        self.apply(section or AirGapSection())
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._listener: Listener[_Connection] | None = None  # made by `start`
        self._lock = threading.Lock()
        #: frames refused (length or CRC; answered FAIL, connection closed), frames cut short
        #: by the end of their connection, requests answered
        self.frames_refused = 0
        self.frames_cut = 0
        self.requests = 0

    def apply(self, section: AirGapSection) -> None:
        """Take the air-gap keys (at start, and after ``LOAD CONFIGURATION``): the next frame
        read and the next retry see them (the port and on/off need a restart)."""
        self.max_payload = section.pipe_air_gap_receiver_max_payload_size_in_bytes
        self.retry_interval = section.pipe_air_gap_retry_local_interval_ms / 1000.0
        self.retry_max = section.pipe_air_gap_retry_max_ms / 1000.0

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            return (self.host, self.port)
        return self._listener.address

    @property
    def stopping(self) -> bool:
        return self._listener is not None and self._listener.stopping

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> AirGapReceiver:
        """Listen (`pipecore.rpc.Listener`: the RPC server's lifecycle); an `OSError` naming
        ``pipe_air_gap_receiver_port`` when the port cannot be bound."""
        listener = Listener(
            self.host,
            self.port,
            connect=lambda sock, address: _Connection(self, sock, address),
            refused=self._refused,
            label="air-gap receiver",
            port_key="pipe_air_gap_receiver_port",
            thread_name="pipecore-air-gap-accept",
            log=log,
            max_connections=self.max_connections,
            idle_timeout=self.idle_timeout,
        )
        listener.start()
        self._listener = listener
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._listener is None or not self._listener.started:
            return
        self._listener.stop(timeout)
        log.info("air-gap receiver stopped")

    def __enter__(self) -> AirGapReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connections(self) -> int:
        return 0 if self._listener is None else len(self._listener.connections())

    # ------------------------------------------------------------------ connections
    def _refused(self, address: tuple[str, int], open_count: int) -> None:
        log.warning("air-gap receiver: refusing %s: too many connections", address)

    def forget(self, conn: _Connection) -> None:
        if self._listener is not None:
            self._listener.forget(conn)

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    # ------------------------------------------------------------------ requests
    def answer(self, receiver: IoTDBDataNodeReceiver, payload: bytes, remote: str) -> bytes:
        """The one reply byte for a request whose frame checked out."""
        try:
            request = PipeTransferRequest.from_payload(payload)
        except PipeProtocolError as exc:
            log.warning("air-gap receiver: request from %s: %s", remote, exc)
            return AIR_GAP_FAIL
        self.count("requests")
        started = time.monotonic()
        while True:
            try:
                status = receiver.transfer(request.version, request.type, request.body).status
            except Exception:  # a receiver bug must not cost the sender its reply byte
                log.exception(
                    "air-gap receiver: request type %d from %s failed", request.type, remote
                )
                return AIR_GAP_FAIL
            if status.code != TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION:
                break
            if self.stopping or time.monotonic() - started + self.retry_interval > self.retry_max:
                break
            time.sleep(self.retry_interval)
        reply = air_gap_reply(status.code)
        if reply == AIR_GAP_FAIL:
            log.warning(
                "air-gap receiver: %s from %s answered FAIL: %s",
                request.type_name,
                remote,
                status,
            )
        return reply
