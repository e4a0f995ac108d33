"""``iotdb-legacy-pipe-sink``: a pipe into a receiver of IoTDB 1.0/1.1's sync tool (IoTDB
1.3's plugin name, ``IoTDBLegacyPipeConnector``; also ``iotdb-legacy-pipe-connector``).

Parameters (IoTDB 1.3's, each also as ``connector.*``): ``sink.ip`` + ``sink.port`` (required),
``sink.user`` / ``sink.password`` (accepted; see below), ``sink.version`` (default ``1.1``: the
version the handshake claims; the receiver compares its major version with its own). The
``sink.exception.*`` rules of the thrift sinks apply to the receiver's error statuses (the
sync tool's pipes get ``exception.others.retry-max-times`` = ``max_number_of_sync_file_retry``).

What goes over the wire is the sync tool's protocol only (``handshake``, ``sendFile``,
``sendPipeData``; legacy/codec.py):

* a TsFile event: the file in pieces (``sendFile``; from 0, the receiver's
  SYNC_FILE_REDIRECTION_ERROR moves the position — IoTDB 1.3's rule), its ``.mods`` likewise
  when it has deletions, then a `TsFilePipeData` naming it; for ``sink.version`` 1.x the file
  is rewritten as TsFile format v3 (what IoTDB 1.x loads);
* a tablet: written into a small TsFile and sent as one (IoTDB 1.3 sends tablets over a
  session instead, with ``sink.user``/``sink.password``; the 1.0/1.1 sync tool itself only
  ever sent TsFiles, which every legacy receiver takes without a login);
* a deletion: a `DeletionPipeData` (the sync tool's SyncDelOp; IoTDB 1.3's legacy sink sends
  none);
* schema changes are not in the sync protocol: the receiver creates the database the handshake
  names and the series of the files it loads.

Before data of another database the sink handshakes again naming that database (the sync tool
has one connection per database; the receiver creates it). The pipe's creation time is the
handshake's createTime, so every connection of the pipe writes into one receiver folder.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pipecore import (
    Connector,
    DeletionEvent,
    Event,
    PipeConnectionError,
    PipeParameterNotValidError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)
from pipecore.rpc import (
    PipeTransferResponse,
    RpcApplicationError,
    RpcClient,
    RpcConnectionError,
    RpcProtocolError,
    Status,
    TSStatusCode,
)
from pipecore.rpc.thrift import TSyncIdentityInfo, TSyncTransportMetaInfo, status_from_thrift
from pipecore_storage.tsfile import TsFileWriter

from ..config import thrift_settings
from ..errors import ReceiverRefusedError
from ..files import prepare_tsfile
from ..options import SinkOptions, keys
from ..status import StatusPolicy
from .codec import DeletionPipeData, TsFilePipeData, encode_pipe_data

__all__ = ["DEFAULT_SYNC_VERSION", "IoTDBLegacyPipeSink", "LegacySyncClient"]

log = logging.getLogger("pipecore.legacy_sink")

DEFAULT_SYNC_VERSION = "1.1"
_MAX_REDIRECTS = 64  # redirections within one file before the transfer counts as failed


class LegacySyncClient:
    """One connection to a sync-tool receiver: ``handshake`` (again when the database
    changes), ``send_file`` with the offset rules, ``send_pipe_data``. Connection failures
    raise `PipeConnectionError` (the connection is dropped; the next call connects again)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        pipe_name: str,
        create_time: int,
        version: str,
        timeout: float,
        piece_size: int,
    ) -> None:
        self.endpoint = f"{host}:{port}"
        self.rpc = RpcClient(host, port, timeout)
        self.pipe_name = pipe_name
        self.create_time = create_time
        self.version = version
        self.piece_size = piece_size
        self.database: str | None = None  # of the current handshake (None: none yet)

    def _call(self, name: str, **args: Any) -> Status:
        try:
            status = self.rpc.call(name, **args)
        except (RpcConnectionError, RpcProtocolError) as exc:
            self.database = None
            raise PipeConnectionError(f"{name} to {self.endpoint} failed: {exc}") from exc
        except RpcApplicationError as exc:  # "Thrift connection is not alive." and the like
            self.database = None
            self.rpc.close()
            raise PipeConnectionError(f"{name} to {self.endpoint}: {exc}") from exc
        return status_from_thrift(status)

    def handshake(self, database: str) -> None:
        """Handshake naming `database` ("" for none) unless the connection has done so."""
        if self.database == database and self.rpc.connected:
            return
        info = TSyncIdentityInfo(self.pipe_name, self.create_time, self.version, database)
        status = self._call("handshake", info=info)
        if not status.is_success:
            self.rpc.close()
            raise ReceiverRefusedError(self.endpoint, status)
        self.database = database
        log.info("sync-tool handshake with %s done (database %r)", self.endpoint, database)

    def send_file(self, path: Path, on_error: Any) -> None:
        """`path` in pieces from 0; SYNC_FILE_REDIRECTION_ERROR (1104) moves to the index the
        receiver names. Any other status is passed to `on_error(status)` (which raises)."""
        name, position, redirects = path.name, 0, 0
        buffer = bytearray(self.piece_size)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            while position < size:
                f.seek(position)
                n = f.readinto(buffer)
                if not n:  # the file shrank under us
                    on_error(Status(TSStatusCode.SYNC_FILE_ERROR, f"{name} ended at {position}"))
                    return
                meta = TSyncTransportMetaInfo(name, position)
                status = self._call("sendFile", metaInfo=meta, buff=bytes(buffer[:n]))
                if status.is_success:
                    position += n
                    continue
                if status.code != TSStatusCode.SYNC_FILE_REDIRECTION_ERROR:
                    on_error(status)
                    return
                redirects += 1
                try:
                    target = int(status.message or "")
                except ValueError:
                    target = -1
                if redirects > _MAX_REDIRECTS or not 0 <= target <= size:
                    on_error(status)
                    return
                log.info("redirect to position %d in transferring %s", target, name)
                position = target

    def send_pipe_data(self, body: bytes) -> Status:
        return self._call("sendPipeData", buff=body)

    def close(self) -> None:
        self.database = None
        self.rpc.close()


class IoTDBLegacyPipeSink(Connector):
    """The sync tool's sender (module docstring)."""

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        p = validator.parameters
        if not (p.has_any_attributes(*keys("ip")) and p.has_any_attributes(*keys("port"))):
            raise PipeParameterNotValidError(
                "Either connector.ip:connector.port or sink.ip:sink.port must be specified",
                key="sink.ip",
                expected="sink.ip and sink.port",
            )
        if p.get_boolean_or_default(keys("ssl.enable"), False):
            raise PipeParameterNotValidError(
                "sink.ssl.enable: pipecore's iotdb-legacy-pipe-sink does not speak TLS",
                key="sink.ssl.enable",
                expected="false",
            )
        SinkOptions.parse(p)
        version = _version(p)
        if not version:
            raise PipeParameterNotValidError(
                "sink.version must not be empty", key="sink.version", expected="e.g. 1.1"
            )

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        options = SinkOptions.parse(parameters)
        endpoint = options.endpoints[-1]  # sink.ip / sink.port (node-urls are not its keys)
        self.version = _version(parameters)
        node = configuration.node_config
        pipe = getattr(node, "pipe", None)
        timeout = pipe.pipe_sink_timeout_ms / 1000.0 if pipe is not None else 900.0
        retry = pipe.pipe_sink_retry_interval_ms / 1000.0 if pipe is not None else 0.8
        settings = thrift_settings(node)
        self.client = LegacySyncClient(
            endpoint.ip,
            endpoint.port,
            pipe_name=configuration.pipe_name,
            create_time=int(configuration.creation_time),
            version=self.version,
            timeout=timeout,
            piece_size=settings.pipe_sink_read_file_buffer_size,
        )
        self.policy = StatusPolicy(options, retry, getattr(configuration, "outage", None))
        self.policy.counters = configuration.counters
        self.store = configuration.store
        self.scratch_dir = Path(configuration.data_dir) / "legacy-sink"
        self.serial = itertools.count()
        #: TsFile format sent: v3 to a 1.x receiver (IoTDB 1.x loads only v3)
        self.tsfile_version = 3 if self.version.split(".")[0] in ("0", "1") else None

    # ------------------------------------------------------------------ lifecycle
    def connector_handshake(self) -> None:
        self.client.close()
        self.client.handshake("")

    def connector_heartbeat(self) -> None:
        if not self.client.rpc.connected:
            self.client.handshake(self.client.database or "")

    def connector_close(self) -> None:
        self.policy.closing.set()
        self.client.close()

    # ------------------------------------------------------------------ transfers
    def connector_transfer_tsfile(self, event: TsFileInsertionEvent) -> Future[None] | None:
        prepared = prepare_tsfile(
            Path(event.path),
            self.tsfile_version,
            self.scratch_dir,
            mods=getattr(event, "mods_path", None),
            deletions=getattr(event, "deletions", None),
        )
        try:
            database = self._database_of(next(iter(event.device_time_index), None))
            self._send_files(prepared.tsfile, prepared.mods, database)
        finally:
            prepared.cleanup()
        return None

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None] | None:
        tablet = event.tablet
        if not tablet.row_count:
            return None
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="tablet-", dir=self.scratch_dir))
        try:
            # IoTDB's TsFile name: {time}-{version}-{inner}-{cross}.tsfile
            path = folder / f"{int(time.time() * 1000)}-{next(self.serial)}-0-0.tsfile"
            with TsFileWriter(path, format_version=self.tsfile_version or 4) as writer:
                writer.write_tablet(tablet)
            self._send_files(path, None, self._database_of(tablet.device))
        finally:
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            folder.rmdir()
        return None

    def connector_transfer_event(self, event: Event) -> Future[None] | None:
        if not isinstance(event, DeletionEvent):
            return None  # heartbeats; schema changes are not in the sync protocol
        database = self._database_of(event.path_pattern) or ""
        body = encode_pipe_data(
            DeletionPipeData(
                next(self.serial), database, event.path_pattern, event.start_time, event.end_time
            )
        )
        self.client.handshake(self.client.database or "")
        self._deliver(lambda: self.client.send_pipe_data(body), f"DELETE {event.path_pattern}")
        return None

    # ------------------------------------------------------------------ helpers
    def _send_files(self, tsfile: Path, mods: Path | None, database: str) -> None:
        what = f"TsFile {tsfile.name}"
        self.client.handshake(database)
        for path in (tsfile, mods):
            if path is not None:
                self.client.send_file(path, lambda status, what=what: self._failed(what, status))
        body = encode_pipe_data(TsFilePipeData(next(self.serial), tsfile.name, ""))
        self._deliver(lambda: self.client.send_pipe_data(body), what)

    def _deliver(self, send: Any, what: str) -> None:
        """Send until the ``exception.*`` rules say stop (IoTDB 1.3 ignores the answer to
        sendPipeData; the sync tool retried a failed one ``max_number_of_sync_file_retry``
        times)."""
        self.policy.deliver(
            lambda: PipeTransferResponse(send()), lambda: what, self.client.endpoint
        )

    def _failed(self, what: str, status: Status) -> None:
        """SYNC_FILE_ERROR or an unexpected status while sending a file: IoTDB 1.3 treats it
        as a broken connection (the file is sent again after a new handshake)."""
        self.client.close()
        raise PipeConnectionError(f"receiver {self.client.endpoint} failed {what}: {status}")

    def _database_of(self, path: str | None) -> str:
        """The database of a device or path pattern in this node's store ("" when unknown:
        the receiver then creates databases as its LOAD does)."""
        store = self.store
        if path is None or store is None:
            return ""
        try:
            rows = store.show_databases().rows
        except Exception:
            return ""
        for row in rows:
            db = row.database
            if path == db or path.startswith(db + "."):
                return str(db)
        return ""


def _version(p: PipeParameters) -> str:
    value = p.get_string_by_keys(*keys("version"))
    return DEFAULT_SYNC_VERSION if value is None else value.strip()
