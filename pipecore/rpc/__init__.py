"""pipecore's RPC layer: IoTDB's `IClientRPCService` over Thrift (framed transport, binary).

* `RpcServer` — the node's threaded server on ``dn_rpc_port``; it hands ``pipeTransfer`` to
  the `PipeReceiver` a plugin registers and session calls to a `SessionHandler`.
* `Listener` — a TCP listener's lifecycle (bind, accept thread, connection threads, limit,
  stop), shared by `RpcServer` and the air-gap receiver.
* `RpcClient` / `PipeTransferClient` — synchronous clients (the sinks use the latter);
  `connect_from` — a connection from a restricted set of local ports (``send-port.*``).
* `Status`, `TSStatusCode`, `Endpoint`, `PipeTransferResponse` — values without Thrift types.
* `pipecore.rpc.thrift` — the one facade over the generated code (structs for handlers).
"""

from pipecore_storage.status import Endpoint, PipeTransferResponse, Status, TSStatusCode

from .client import PipeTransferClient, PipeTransferReply, RpcClient
from .errors import (
    FrameError,
    RpcApplicationError,
    RpcConnectionError,
    RpcError,
    RpcProtocolError,
    RpcTimeoutError,
)
from .framing import DEFAULT_MAX_FRAME_SIZE
from .listener import Listener, ListenerConnection
from .send_ports import connect_from
from .server import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RPC_PORT,
    ConnectionContext,
    PipeReceiver,
    PipeReceiverFactory,
    RpcServer,
    SessionHandlerFactory,
)
from .session import SessionHandler

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_RPC_PORT",
    "ConnectionContext",
    "Endpoint",
    "FrameError",
    "Listener",
    "ListenerConnection",
    "PipeReceiver",
    "PipeReceiverFactory",
    "PipeTransferClient",
    "PipeTransferReply",
    "PipeTransferResponse",
    "RpcApplicationError",
    "RpcClient",
    "RpcConnectionError",
    "RpcError",
    "RpcProtocolError",
    "RpcServer",
    "RpcTimeoutError",
    "SessionHandler",
    "SessionHandlerFactory",
    "Status",
    "TSStatusCode",
    "connect_from",
]
