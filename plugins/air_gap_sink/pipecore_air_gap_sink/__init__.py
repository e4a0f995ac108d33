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

from pipecore import ReceiverContext, hookimpl
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


def air_gap_receiver_for(receivers: ReceiverContext) -> AirGapReceiver:
    """The air-gap receiver of a serving node: on its RPC address (``dn_rpc_address``, or the
    address `serve` was given) and ``pipe_air_gap_receiver_port``; ``LOAD CONFIGURATION`` of
    the air-gap keys reaches it (`AirGapReceiver.apply`)."""
    config = receivers.config
    address = receivers.address
    host = address[0] if address is not None else config.dn_rpc_address
    receiver = AirGapReceiver(
        node_receiver_settings(receivers),
        host,
        config.pipe_air_gap_receiver_port,
        section=air_gap_settings(config),
        idle_timeout=config.pipe_sink_timeout_ms / 1000.0,
    )
    receivers.on_reload(lambda fresh: receiver.apply(air_gap_settings(fresh)))
    return receiver


@hookimpl
def node_services(receivers: ReceiverContext) -> list[Any] | None:
    """The air-gap receiver, when ``pipe_air_gap_receiver_enabled`` (its settings are the
    thrift receiver's, shared through the node's receivers whichever plugin asks first)."""
    if not receivers.config.pipe_air_gap_receiver_enabled:
        return None
    if receivers.store is None:
        log.warning("node %s has no store: no air-gap receiver", receivers.data_dir)
        return None
    return [air_gap_receiver_for(receivers)]
