"""Built-in plugin package `pipecore_thrift_sink` (found through the `pipecore` entry point):
IoTDB's pipe protocol over Thrift — the sinks and the receiver.

* Sinks: ``iotdb-thrift-sink`` (= ``iotdb-thrift-async-sink``) and ``iotdb-thrift-sync-sink``,
  each also as ``-connector`` (docs/sinks.md).
* Receiver: `register_rpc_services` gives the node's RPC server one
  `IoTDBDataNodeReceiver` per connection, writing into the node's store; other transports
  of the node (the air-gap receiver) share its settings through `node_receiver_settings`.
* `pipecore_thrift_sink.protocol`: the byte layouts (docs/protocol.md).
"""

from __future__ import annotations

import logging
import shutil
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipecore import hookimpl
from pipecore.users import UserStore

from .access import IpWhiteList, LiveIpWhiteList
from .async_sink import IoTDBThriftAsyncSink
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
    "UserStore",
    "node_receiver_settings",
    "receiver_settings",
    "thrift_settings",
    "thrift_transport_factory",
]

log = logging.getLogger("pipecore.thrift_receiver")
_LOADERS: weakref.WeakKeyDictionary[Any, AsyncLoader] = weakref.WeakKeyDictionary()
_SETTINGS: weakref.WeakKeyDictionary[Any, ReceiverSettings] = weakref.WeakKeyDictionary()
_SETTINGS_LOCK = threading.Lock()
_warned = threading.Event()  # the default-password warning, once per process


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("sink", "iotdb-thrift-sink", IoTDBThriftAsyncSink)
    register("sink", "iotdb-thrift-async-sink", IoTDBThriftAsyncSink)
    register("sink", "iotdb-thrift-sync-sink", IoTDBThriftSyncSink)


@hookimpl
def register_config_sections(register: Callable[[type], None]) -> None:
    register(ThriftSinkSection)


def receiver_settings(node: Any) -> ReceiverSettings:
    """The receiver settings of a serving node: its store, cluster id, ``ip_white_list``,
    users, receiver registry and piece folder (emptied: pieces never outlive a connection)."""
    config = node.config
    section = thrift_settings(config)
    folder = section.dn_pipe_receiver_file_dirs.split(",")[0].strip() or "system/pipe/receiver"
    base = Path(folder) if Path(folder).is_absolute() else Path(node.data_dir) / folder
    if base.exists():
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    users = node.users
    if users.uses_default_password() and not _warned.is_set():
        _warned.set()
        log.warning(
            "the pipe receiver accepts user root with the default password 'root'; change it: "
            "pipecore users --data-dir %s passwd root",
            node.data_dir,
        )
    loader = AsyncLoader(node.store, Path(node.data_dir) / "system" / "pipe" / "load-pending")
    _LOADERS[node] = loader
    return ReceiverSettings(
        store=node.store,
        cluster_id=node.cluster_id,
        base_dir=base,
        timestamp_precision=getattr(config, "timestamp_precision", "ms"),
        # read per connection: LOAD CONFIGURATION reaches the next handshake
        white_list=LiveIpWhiteList(lambda: node.config.ip_white_list),
        users=users,
        registry=getattr(node, "receivers", None),
        fsync=section.pipe_file_receiver_fsync_enabled,
        max_decompressed_length=section.pipe_receiver_req_decompressed_max_length_in_bytes,
        loader=loader,
    )


def node_receiver_settings(node: Any) -> ReceiverSettings:
    """The receiver settings every transport of a serving node shares (the thrift RPC
    receiver, the air-gap receiver): built once per node by `receiver_settings`, the same
    object afterwards (one piece folder, one id counter, one load queue)."""
    with _SETTINGS_LOCK:
        settings = _SETTINGS.get(node)
        if settings is None:
            settings = _SETTINGS[node] = receiver_settings(node)
        return settings


@hookimpl(trylast=True)
def register_rpc_services(server: Any, node: Any) -> None:
    """Serve ``pipeTransfer`` with `IoTDBDataNodeReceiver` — unless another plugin registered
    a receiver already (this one runs last, so a node plugin can replace it)."""
    if server.pipe_receiver_factory is not None:
        return
    if getattr(node, "store", None) is None:
        log.warning("node %s has no store: it receives no pipe data", node.data_dir)
        return
    settings = node_receiver_settings(node)
    server.register_pipe_receiver(
        lambda context: IoTDBDataNodeReceiver(
            settings, context.remote_address, transport=context.transport
        )
    )


@hookimpl
def node_services(node: Any) -> list[Any]:
    """The queue of received TsFiles to load (``load-tsfile-strategy=async``): loads what an
    earlier run left, then what receivers queue."""
    loader = _LOADERS.get(node)
    return [loader] if loader is not None else []
