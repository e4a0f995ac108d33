"""Sinks for the edge (reference §8.4), registered through the ``pipecore`` entry point
``edge_sinks = "pipecore_edge_sinks"``:

* ``write-back-sink`` — into the node's own store (`write_back`);
* ``websocket-sink`` — to a WebSocket client, IoTDB's protocol (`websocket`).

The OPC UA sink is a separate distribution (``connectors/opcua``). docs/sinks.md describes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipecore import hookimpl

from .websocket import WebSocketSink
from .write_back import WriteBackSink

__all__ = ["WebSocketSink", "WriteBackSink"]


@hookimpl
def register_pipe_plugins(register: Callable[..., Any]) -> None:
    register("sink", "write-back-sink", WriteBackSink)
    register("sink", "websocket-sink", WebSocketSink)
