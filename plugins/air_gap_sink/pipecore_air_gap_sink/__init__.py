"""Built-in plugin package `pipecore_air_gap_sink` (found through the `pipecore` entry point):
IoTDB's pipe protocol across a one-way gateway (reference §5; docs/sinks.md, "Air gap").

* Sink: ``iotdb-air-gap-sink`` (also ``-connector``) — the thrift sink's requests, framed
  with length and CRC32, one reply byte each (`IoTDBAirGapSink`).
* Receiver: when ``pipe_air_gap_receiver_enabled`` is true, a serving node runs
  `AirGapReceiver` on ``pipe_air_gap_receiver_port`` (9780), next to its RPC port, through the
  ``node_services`` hook; its requests go through the same receiver as thrift's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pipecore import hookimpl
from pipecore_thrift_sink import node_receiver_settings

from .options import AirGapOptions
from .receiver import AirGapReceiver, AirGapSection, air_gap_settings
from .sink import AirGapFileError, IoTDBAirGapSink
from .transport import AirGapTransport, air_gap_transport_factory

__all__ = [
    "AirGapFileError",
    "AirGapOptions",
    "AirGapReceiver",
    "AirGapSection",
    "AirGapTransport",
    "IoTDBAirGapSink",
    "air_gap_receiver_for",
    "air_gap_settings",
    "air_gap_transport_factory",
]

log = logging.getLogger("pipecore.air_gap_receiver")


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("sink", "iotdb-air-gap-sink", IoTDBAirGapSink)


@hookimpl
def register_config_sections(register: Callable[[type], None]) -> None:
    register(AirGapSection)


def air_gap_receiver_for(node: Any) -> AirGapReceiver:
    """The air-gap receiver of a serving node: on its RPC address (``dn_rpc_address``, or the
    address `serve` was given) and ``pipe_air_gap_receiver_port``."""
    config = node.config
    address = node.address
    host = address[0] if address is not None else config.dn_rpc_address
    return AirGapReceiver(
        node_receiver_settings(node),
        host,
        config.pipe_air_gap_receiver_port,
        section=air_gap_settings(config),
        idle_timeout=config.pipe_sink_timeout_ms / 1000.0,
    )


@hookimpl(tryfirst=True)
def node_services(node: Any) -> list[Any] | None:
    """The air-gap receiver, when ``pipe_air_gap_receiver_enabled`` (it runs first so that the
    receiver settings — and the thrift plugin's load queue — exist for the others)."""
    if not node.config.pipe_air_gap_receiver_enabled:
        return None
    if getattr(node, "store", None) is None:
        log.warning("node %s has no store: no air-gap receiver", node.data_dir)
        return None
    return [air_gap_receiver_for(node)]
