"""IoTDB 1.0/1.1's sync tool, both ways (docs/interop.md, "The sync tool of IoTDB 1.0/1.1").

* `LegacySyncReceiver` — the node's RPC port also answers ``handshake`` / ``sendFile`` /
  ``sendPipeData`` (registered by ``pipecore_thrift_sink.register_rpc_services``);
* `IoTDBLegacyPipeSink` — ``iotdb-legacy-pipe-sink``, the sender;
* `codec` — the ``PipeData`` layouts (``TsFilePipeData``, ``DeletionPipeData``).
"""

from __future__ import annotations

from .codec import DeletionPipeData, TsFilePipeData, decode_pipe_data, encode_pipe_data
from .receiver import ACCEPTED_MAJOR_VERSIONS, LegacySyncReceiver, accepts_version, major_version
from .sink import DEFAULT_SYNC_VERSION, IoTDBLegacyPipeSink, LegacySyncClient

__all__ = [
    "ACCEPTED_MAJOR_VERSIONS",
    "DEFAULT_SYNC_VERSION",
    "DeletionPipeData",
    "IoTDBLegacyPipeSink",
    "LegacySyncClient",
    "LegacySyncReceiver",
    "TsFilePipeData",
    "accepts_version",
    "decode_pipe_data",
    "encode_pipe_data",
    "major_version",
]
