"""``websocket-sink`` (reference §8.4; IoTDB's ``WebSocketSink`` and ``WebSocketConnectorServer``).

The sink is a WebSocket *server*: a client connects to ``ws://<node>:<sink.websocket.port>``
(default 8080) and speaks IoTDB's text protocol —

* client → ``BIND:<pipe name>``; server → ``READY`` (or ``ERROR`` and a close with code 4000
  "Too many connections." when that pipe already has a client);
* server → one binary message per tablet: the event id (8 bytes, big-endian) followed by the
  tablet in tsfile's ``Tablet.serialize`` form;
* client → ``ACK:<event id>`` when it has the tablet (the pipe then commits it), or
  ``ERROR:<event id>`` when it could not parse it (it is sent again later).

Events wait until a client is bound; unacknowledged ones are sent again, in order, to the next
client if the connection drops. One server per port is shared by every pipe of the process that
names it (reference counted, as IoTDB's). The server binds the node's ``dn_rpc_address``.

The server runs on an asyncio loop in a thread of its own, built on the ``websockets`` library
(an optional dependency: ``pip install pipecore[websocket]``).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import struct
import threading
from concurrent.futures import Future
from typing import Any

from pipecore import (
    Connector,
    LoopThread,
    PipeError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    TabletInsertionEvent,
)
from pipecore_thrift_sink.protocol.io import BodyWriter
from pipecore_thrift_sink.protocol.tablet import write_tablet

__all__ = ["WebSocketServer", "WebSocketSink", "encode_message"]

log = logging.getLogger(__name__)

PORT_KEYS = ["sink.websocket.port", "connector.websocket.port"]
DEFAULT_PORT = 8080
_EVENT_ID = struct.Struct(">q")


def encode_message(event_id: int, tablet: Any) -> bytes:
    """A binary message: the event id, then ``Tablet.serialize``."""
    w = BodyWriter()
    write_tablet(w, tablet)
    return _EVENT_ID.pack(event_id) + w.getvalue()


class _Channel:
    """One pipe's events on a server: waiting to be sent (a heap by event id: one sent again
    goes before later ones, as IoTDB's priority queue), and sent but not acknowledged."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, bytes, Future[None]]] = []
        self.unacked: dict[int, tuple[bytes, Future[None]]] = {}
        self.client: Any = None
        self.wake = asyncio.Event()


class WebSocketServer:
    """The WebSocket server of one port, shared by the pipes that name it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.users = 0
        self.channels: dict[str, _Channel] = {}
        self._next_id = 0
        self._server: Any = None
        self._loop = LoopThread(f"websocket-sink-{port}", self._listen)

    async def _listen(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, self.host, self.port, max_size=None)

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()
            for channel in self.channels.values():
                _cancel_all(channel)

        self._loop.stop(shutdown, timeout=10)

    # ------------------------------------------------------------------ from sinks
    def register(self, pipe: str) -> None:
        self._loop.call(lambda: self.channels.setdefault(pipe, _Channel()))

    def unregister(self, pipe: str) -> None:
        def drop() -> None:
            channel = self.channels.pop(pipe, None)
            if channel is not None:
                _cancel_all(channel)
                if channel.client is not None:
                    self._loop.loop.create_task(channel.client.close(1001, "pipe closed"))

        self._loop.call(drop)

    def submit(self, pipe: str, tablet: Any) -> Future[None]:
        """Queue `tablet` for `pipe`'s client; the future completes on its ACK."""
        done: Future[None] = Future()

        def add() -> None:
            channel = self.channels.get(pipe)
            if channel is None:
                done.set_exception(PipeError(f"pipe {pipe} is not registered", pipe))
                return
            self._next_id += 1
            heapq.heappush(
                channel.queue, (self._next_id, encode_message(self._next_id, tablet), done)
            )
            channel.wake.set()

        self._loop.call_soon(add)
        return done

    # ------------------------------------------------------------------ protocol
    async def _handle(self, ws: Any) -> None:
        pipe: str | None = None
        pump: asyncio.Task[None] | None = None
        try:
            async for message in ws:
                if not isinstance(message, str):
                    log.warning("websocket-sink: a binary message from a client is ignored")
                elif message.startswith("BIND"):
                    name = message.removeprefix("BIND:")
                    channel = self.channels.get(name)
                    if channel is None or channel.client is not None:
                        await ws.send("ERROR")
                        await ws.close(4000, "Too many connections.")
                        return
                    await ws.send("READY")
                    channel.client, pipe = ws, name
                    pump = asyncio.create_task(self._pump(channel, ws))
                elif pipe is not None:
                    self._reply(self.channels.get(pipe), message)
        finally:
            if pump is not None:
                pump.cancel()
            channel = self.channels.get(pipe) if pipe is not None else None
            if channel is not None and channel.client is ws:
                self._requeue(channel)

    def _reply(self, channel: _Channel | None, message: str) -> None:
        kind, _, number = message.partition(":")
        if channel is None or kind not in ("ACK", "ERROR") or not number.strip().isdigit():
            log.warning("websocket-sink: unknown message %r", message[:80])
            return
        event_id = int(number)
        pending = channel.unacked.pop(event_id, None)
        if pending is None:
            log.warning("websocket-sink: %s of unknown event %d", kind, event_id)
        elif kind == "ACK":
            if not pending[1].done():
                pending[1].set_result(None)
        else:
            log.warning("websocket-sink: event %d could not be parsed; sent again", event_id)
            heapq.heappush(channel.queue, (event_id, pending[0], pending[1]))
            channel.wake.set()

    def _requeue(self, channel: _Channel) -> None:
        """The client is gone: unacknowledged events go back to the front, in order."""
        channel.client = None
        for event_id, (payload, done) in channel.unacked.items():
            heapq.heappush(channel.queue, (event_id, payload, done))
        channel.unacked.clear()

    async def _pump(self, channel: _Channel, ws: Any) -> None:
        while True:
            while channel.queue and channel.client is ws:
                event_id, payload, done = heapq.heappop(channel.queue)
                if done.done():
                    continue
                channel.unacked[event_id] = (payload, done)
                await ws.send(payload)
            channel.wake.clear()
            await channel.wake.wait()


def _cancel_all(channel: _Channel) -> None:
    for _, _, done in channel.queue:
        done.cancel()
    for _, done in channel.unacked.values():
        done.cancel()
    channel.queue.clear()
    channel.unacked.clear()


_SERVERS: dict[int, WebSocketServer] = {}
_SERVERS_LOCK = threading.Lock()


def acquire_server(host: str, port: int) -> WebSocketServer:
    """The shared server of `port`, started if needed (reference counted)."""
    with _SERVERS_LOCK:
        server = _SERVERS.get(port)
        if server is None:
            try:
                server = WebSocketServer(host, port)
            except OSError as exc:
                raise PipeError(f"websocket-sink cannot listen on {host}:{port}: {exc}") from exc
            _SERVERS[port] = server
        server.users += 1
        return server


def release_server(server: WebSocketServer) -> None:
    with _SERVERS_LOCK:
        server.users -= 1
        if server.users <= 0:
            _SERVERS.pop(server.port, None)
            server.stop()


class WebSocketSink(Connector):
    """``websocket-sink`` (module docstring)."""

    server: WebSocketServer | None = None

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        port = validator.parameters.get_int_or_default(PORT_KEYS, DEFAULT_PORT)
        validator.validate(
            lambda p: 0 < p < 65536,
            f"{PORT_KEYS[0]} must be between 1 and 65535, but got {port}",
            port,
            key=PORT_KEYS[0],
        )
        try:
            import websockets  # noqa: F401
        except ImportError:
            raise PipeError(
                "websocket-sink needs the websockets package: pip install 'pipecore[websocket]'"
            ) from None

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        self.port = parameters.get_int_or_default(PORT_KEYS, DEFAULT_PORT)
        config = configuration.node_config
        self.host = "127.0.0.1" if config is None else str(config.node.dn_rpc_address)
        self.pipe = configuration.pipe_name

    def connector_handshake(self) -> None:
        if self.server is None:
            self.server = acquire_server(self.host, self.port)
            self.server.register(self.pipe)

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None] | None:
        if self.server is None:
            self.connector_handshake()
        assert self.server is not None
        if event.tablet.row_count == 0:
            return None
        return self.server.submit(self.pipe, event.tablet)

    def connector_close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.unregister(self.pipe)
            release_server(server)
