"""What the sink needs around IoTDB's schema layout (`protocol.schema_iotdb`): the ConfigNode
handshake a real IoTDB wants on a connection before its first config plan (type 200).

IoTDB's DataNode hands config requests (types 50, 200–202) to its ConfigNode, whose receiver
answers 1811 PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED until a ``HANDSHAKE_CONFIGNODE_V2`` (type 50,
the body of the DataNode's type 51) came on that connection.
"""

from __future__ import annotations

import logging

from .client import SinkClient
from .errors import ReceiverRefusedError
from .protocol import PipeRequestType

__all__ = ["config_handshake"]

log = logging.getLogger("pipecore.thrift_sink")
_DONE = "_pipecore_config_handshake"


def config_handshake(client: SinkClient) -> None:
    """Send type 50 once per connection of `client` (again after a reconnect)."""
    transport = client.transport
    if transport is None or getattr(client, _DONE, None) is transport:
        return
    resp = client.send(PipeRequestType.HANDSHAKE_CONFIGNODE_V2, client.settings.handshake.encode())
    if not resp.status.is_success:
        raise ReceiverRefusedError(str(client.endpoint), resp.status)
    setattr(client, _DONE, transport)
    log.debug("receiver %s: config-node handshake done", client.endpoint)
