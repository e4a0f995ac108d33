"""Helpers of the sync-tool tests: an RPC server whose port serves the sync tool's calls into a
store, and IoTDB's own generated client (the apache-iotdb PyPI package) to call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import TFramedTransport

from pipecore.rpc import RpcServer
from pipecore.server.receivers import ReceiverRegistry
from pipecore_storage import Store
from pipecore_thrift_sink import IpWhiteList, ReceiverSettings
from pipecore_thrift_sink.legacy import LegacySyncReceiver


class LegacyReceiver:
    """An RpcServer on a free port whose sync-tool calls write into `store`."""

    def __init__(self, tmp: Path, white_list: str = "127.0.0.1/32") -> None:
        self.store = Store.open(tmp / "legacy-receiver-store")
        self.registry = ReceiverRegistry()
        self.settings = ReceiverSettings(
            store=self.store,
            cluster_id="22222222-aaaa-bbbb-cccc-000000000002",
            base_dir=tmp / "legacy-receiver-files",
            white_list=IpWhiteList(white_list),
            registry=self.registry,
        )
        self.handlers: list[LegacySyncReceiver] = []
        self.server = RpcServer("127.0.0.1", 0)
        self.server.register_legacy_sync_handler(self._make)
        self.server.start()
        self.port = self.server.address[1]

    def _make(self, context: Any) -> LegacySyncReceiver:
        handler = LegacySyncReceiver(self.settings, context)
        self.handlers.append(handler)
        return handler

    def close(self) -> None:
        self.server.stop()
        if not self.store.closed:
            self.store.close()


class IoTDBClient:
    """IoTDB's generated `IClientRPCService.Client` (apache-iotdb) over a framed socket, with
    the pure-Python binary protocol: its accelerated codec drops handshake's argument (field
    id -1), the pure one writes it as IoTDB's Java client does."""

    def __init__(self, port: int) -> None:
        from iotdb.thrift.rpc import IClientRPCService, ttypes

        self.ttypes = ttypes
        self.transport = TFramedTransport(TSocket("127.0.0.1", port))
        self.transport.open()
        self.client = IClientRPCService.Client(TBinaryProtocol(self.transport))

    def handshake(self, pipe: str, create_time: int, version: str, database: str) -> Any:
        info = self.ttypes.TSyncIdentityInfo(pipe, create_time, version, database)
        return self.client.handshake(info)

    def send_file(self, name: str, start: int, data: bytes) -> Any:
        meta = self.ttypes.TSyncTransportMetaInfo(name, start)
        return self.client.sendFile(meta, data)

    def send_pipe_data(self, body: bytes) -> Any:
        return self.client.sendPipeData(body)

    def close(self) -> None:
        self.transport.close()
