"""Built-in plugin package `pipecore_thrift_sink` (found through the `pipecore` entry point):
IoTDB's pipe protocol over Thrift — the sinks and the receiver.

* Sinks: ``iotdb-thrift-sink`` (= ``iotdb-thrift-async-sink``) and ``iotdb-thrift-sync-sink``,
  each also as ``-connector`` (docs/sinks.md).
* Receiver: `register_rpc_services` gives the node's RPC server one
  `IoTDBDataNodeReceiver` per connection, writing into the node's store; other transports
  of the node (the air-gap receiver) share its settings through `node_receiver_settings`,
  kept in the node's receivers (`pipecore.ReceiverContext.shared`), not in this module.
* `pipecore_thrift_sink.protocol`: the byte layouts (docs/protocol.md).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from pipecore import ReceiverContext, RpcServices, hookimpl

from .access import IpWhiteList, LiveIpWhiteList
from .async_sink import IoTDBThriftAsyncSink
from .budget import MemoryBudget
from .client import ClientSet, ClientSettings, HandshakeInfo, SinkClient, thrift_transport_factory
from .config import ThriftSinkSection, thrift_settings
from .errors import ReceiverRefusedError, ReceiverStatusError, SinkClosedError
from .loader import AsyncLoader
from .options import SinkOptions
from .receiver import IoTDBDataNodeReceiver, ReceiverSettings
from .sink import IoTDBThriftSyncSink, ThriftSinkBase

__all__ = [
    "AsyncLoader",
    "ClientSet",
    "ClientSettings",
    "HandshakeInfo",
    "IoTDBDataNodeReceiver",
    "IoTDBThriftAsyncSink",
    "IoTDBThriftSyncSink",
    "IpWhiteList",
    "ReceiverRefusedError",
    "ReceiverSettings",
    "ReceiverStatusError",
    "SinkClient",
    "SinkClosedError",
    "SinkOptions",
    "ThriftSinkBase",
    "ThriftSinkSection",
    "node_receiver_settings",
    "receiver_settings",
    "thrift_settings",
    "thrift_transport_factory",
]

log = logging.getLogger("pipecore.thrift_receiver")
_warned = threading.Event()  # the default-password warning, once per process
#: the key of the receiver settings in a node's `ReceiverContext.shared`
SHARED_KEY = "iotdb-receiver-settings"


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("sink", "iotdb-thrift-sink", IoTDBThriftAsyncSink)
    register("sink", "iotdb-thrift-async-sink", IoTDBThriftAsyncSink)
    register("sink", "iotdb-thrift-sync-sink", IoTDBThriftSyncSink)
    from .legacy import IoTDBLegacyPipeSink  # the sync tool of IoTDB 1.0/1.1 (legacy/)

    register("sink", "iotdb-legacy-pipe-sink", IoTDBLegacyPipeSink)


@hookimpl
def register_config_sections(register: Callable[[type], None]) -> None:
    register(ThriftSinkSection)


def receiver_settings(receivers: ReceiverContext) -> ReceiverSettings:
    """New receiver settings of a serving node: its store, cluster id, ``ip_white_list``,
    users, receivers (the connection list) and piece folder (emptied: pieces never outlive a
    connection). The queue of received TsFiles to load (``load-tsfile-strategy=async``) is
    given to the node's services; ``LOAD CONFIGURATION`` reaches the settings
    (`ReceiverSettings.apply`)."""
    config = receivers.config
    section = thrift_settings(config)
    folder = section.dn_pipe_receiver_file_dirs.split(",")[0].strip() or "system/pipe/receiver"
    data_dir = Path(receivers.data_dir)
    base = Path(folder) if Path(folder).is_absolute() else data_dir / folder
    if base.exists():
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    users = receivers.users
    if users.uses_default_password() and not _warned.is_set():
        _warned.set()
        log.warning(
            "the pipe receiver accepts user root with the default password 'root'; change it: "
            "pipecore users --data-dir %s passwd root",
            data_dir,
        )
    loader = AsyncLoader(receivers.store, data_dir / "system" / "pipe" / "load-pending")
    receivers.add_service(loader)
    settings = ReceiverSettings(
        store=receivers.store,
        cluster_id=receivers.cluster_id,
        base_dir=base,
        timestamp_precision=getattr(config, "timestamp_precision", "ms"),
        # read per connection: LOAD CONFIGURATION reaches the next handshake
        white_list=LiveIpWhiteList(lambda: receivers.config.ip_white_list),
        users=users,
        registry=receivers,
        fsync=section.pipe_file_receiver_fsync_enabled,
        max_decompressed_length=section.pipe_receiver_req_decompressed_max_length_in_bytes,
        memory=MemoryBudget(section.pipe_receiver_memory_budget_in_bytes),
        loader=loader,
        templates=getattr(receivers, "templates", None),
    )
    receivers.on_reload(settings.apply)
    return settings


def node_receiver_settings(receivers: ReceiverContext) -> ReceiverSettings:
    """The receiver settings every transport of a serving node shares (the thrift RPC
    receiver, the air-gap receiver): built once per node by `receiver_settings` — whichever
    transport asks first — and kept in the node's receivers (one piece folder, one id
    counter, one load queue)."""
    return receivers.shared(SHARED_KEY, lambda: receiver_settings(receivers))


@hookimpl(trylast=True)
def register_rpc_services(server: RpcServices, receivers: ReceiverContext) -> None:
    """Serve ``pipeTransfer`` with `IoTDBDataNodeReceiver` — unless another plugin registered
    a receiver already (this one runs last, so a node plugin can replace it); and the sync
    tool's calls (IoTDB 1.0/1.1) with `legacy.LegacySyncReceiver`, sharing the settings."""
    if receivers.store is None:
        log.warning("node %s has no store: it receives no pipe data", receivers.data_dir)
        return
    if server.legacy_sync_factory is None:
        from .legacy import LegacySyncReceiver

        legacy = node_receiver_settings(receivers)
        server.register_legacy_sync_handler(lambda context: LegacySyncReceiver(legacy, context))
    if server.pipe_receiver_factory is not None:
        return
    settings = node_receiver_settings(receivers)
    server.register_pipe_receiver(
        lambda context: IoTDBDataNodeReceiver(
            settings, context.remote_address, transport=context.transport
        )
    )
